using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Distill.Core.Samples;
using Distill.Generation.Tools;

namespace Distill.Generation.Recipes;

public sealed record Verdict(bool Passed, double Score);

/// <summary>
/// Checks a tool trace against ground truth: the tool names in order; each expected argument equal where given (calculator
/// expressions compared by value); the final answer containing every expected fact. Score = checks passed / checks.
/// </summary>
public static class TraceVerifier
{
    public const string Name = "world_trajectory";

    public static Verdict Check(IReadOnlyList<ToolCall> calls, string answer, IReadOnlyList<ExpectedToolCall>? expected, IReadOnlyList<string>? facts)
    {
        int checks = 0, passed = 0;
        if (expected is not null)
        {
            checks++;
            if (calls.Select(c => c.Name).SequenceEqual(expected.Select(e => e.Name), StringComparer.Ordinal)) passed++;
            for (var i = 0; i < expected.Count; i++)
            {
                foreach (var (key, value) in expected[i].Arguments)
                {
                    checks++;
                    if (i < calls.Count && calls[i].Name == expected[i].Name && ArgumentEquals(calls[i], key, value)) passed++;
                }
            }
        }
        foreach (var fact in facts ?? [])
        {
            checks++;
            if (answer.Contains(fact, StringComparison.OrdinalIgnoreCase)) passed++;
        }
        return checks == 0 ? new Verdict(true, 1) : new Verdict(passed == checks, (double)passed / checks);
    }

    private static bool ArgumentEquals(ToolCall call, string key, string expected)
    {
        try
        {
            using var doc = JsonDocument.Parse(call.Arguments);
            if (!doc.RootElement.TryGetProperty(key, out var actual)) return false;
            var text = actual.ValueKind == JsonValueKind.String ? actual.GetString() ?? "" : actual.GetRawText();
            if (call.Name == "calculator")
            {
                return ArithmeticExpression.Evaluate(text) == ArithmeticExpression.Evaluate(expected);
            }
            return string.Equals(text.Trim(), expected.Trim(), StringComparison.OrdinalIgnoreCase);
        }
        catch (Exception e) when (e is JsonException or FormatException or DivideByZeroException or OverflowException)
        {
            return false;
        }
    }
}

/// <summary>Answer comparison for CoT: numbers by value (to the cent), text normalized (case, spaces, trailing punctuation).</summary>
public static partial class AnswerMatcher
{
    public const string GroundTruth = "ground_truth";
    public const string SelfConsistency = "self_consistency";

    public static string Normalize(string answer) =>
        Spaces().Replace(answer.Trim().ToLowerInvariant(), " ").TrimEnd('.', '!', ' ');

    public static bool Matches(string answer, string expected)
    {
        if (TryNumber(expected, out var want))
        {
            return Numbers().Matches(answer).Any(m => TryNumber(m.Value, out var got) && Math.Abs(got - want) < 0.005m);
        }
        var a = Normalize(answer);
        var e = Normalize(expected);
        return a == e || a.Contains(e, StringComparison.Ordinal);
    }

    private static bool TryNumber(string text, out decimal value) =>
        decimal.TryParse(text.Trim().TrimStart('$').Replace(",", "", StringComparison.Ordinal).TrimEnd('.'),
            NumberStyles.Number, CultureInfo.InvariantCulture, out value);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"-?\$?\d[\d,]*(\.\d+)?")]
    private static partial Regex Numbers();
}
