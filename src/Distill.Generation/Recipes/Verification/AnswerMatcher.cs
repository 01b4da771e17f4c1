using System.Text.RegularExpressions;

namespace Distill.Generation.Recipes;

/// <summary>
/// Answer comparison for CoT: the same answer after normalization (case, spaces, trailing punctuation), or the expected answer
/// stated in it as a <see cref="FactMatcher"/> fact (numbers and money by value to the cent, whole words, negation respected).
/// </summary>
public static partial class AnswerMatcher
{
    public const string GroundTruth = "ground_truth";
    public const string SelfConsistency = "self_consistency";

    public static string Normalize(string answer) =>
        Spaces().Replace(answer.Trim().ToLowerInvariant(), " ").TrimEnd('.', '!', ' ');

    public static bool Matches(string answer, string expected) =>
        Normalize(answer) == Normalize(expected) || FactMatcher.Satisfies(answer, expected);

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
