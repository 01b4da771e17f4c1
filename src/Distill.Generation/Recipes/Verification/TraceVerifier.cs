using Distill.Core.Samples;

namespace Distill.Generation.Recipes;

public sealed record Verdict(bool Passed, double Score);

/// <summary>
/// Checks a tool trace against ground truth. Checks: the tool names in order (one check); each expected argument equal
/// (<see cref="ToolCallMatcher"/>; one check each); each expected fact satisfied by the final answer (<see cref="FactMatcher.Satisfies"/>;
/// one check each). Failures that add a failed check without a matching pass: a call with arguments the expected call does
/// not name, and each forbidden fact the answer states (<see cref="FactMatcher.States"/>), e.g. "shipped or delivered" for an
/// order that is shipped. Passed = every check passed; score = checks passed / checks.
/// </summary>
public static class TraceVerifier
{
    public const string Name = "world_trajectory";

    public static Verdict Check(IReadOnlyList<ToolCall> calls, string answer, IReadOnlyList<ExpectedToolCall>? expected, IReadOnlyList<string>? facts,
        IReadOnlyList<string>? forbiddenFacts = null)
    {
        int checks = 0, passed = 0;
        if (expected is not null)
        {
            checks++;
            if (calls.Select(c => c.Name).SequenceEqual(expected.Select(e => e.Name), StringComparer.Ordinal)) passed++;
            for (var i = 0; i < expected.Count; i++)
            {
                var comparison = i < calls.Count && calls[i].Name == expected[i].Name
                    ? ToolCallMatcher.Compare(calls[i], expected[i].Arguments)
                    : new ArgumentComparison(0, [], Parsed: false);
                checks += expected[i].Arguments.Count;
                passed += comparison.Matched;
                if (comparison.Unexpected.Count > 0) checks++;
            }
        }
        foreach (var fact in facts ?? [])
        {
            checks++;
            if (FactMatcher.Satisfies(answer, fact)) passed++;
        }
        foreach (var forbidden in forbiddenFacts ?? [])
        {
            if (FactMatcher.States(answer, forbidden)) checks++;
        }
        return checks == 0 ? new Verdict(true, 1) : new Verdict(passed == checks, (double)passed / checks);
    }
}
