using System.Globalization;
using System.Text.Json;
using Distill.Core.Samples;
using Distill.Generation.Tools;

namespace Distill.Generation.Recipes;

/// <summary>How one tool call's arguments compare with the expected ones.</summary>
/// <param name="Matched">Expected arguments present with the expected value.</param>
/// <param name="Unexpected">Arguments the call passed that the expected call does not name (none counted when the expected call
/// names no arguments: then any arguments are fine, e.g. a knowledge-base query in the customer's own words).</param>
/// <param name="Parsed">False when the call's arguments are not a JSON object (nothing matches).</param>
public sealed record ArgumentComparison(int Matched, IReadOnlyList<string> Unexpected, bool Parsed);

/// <summary>
/// Tool-call arguments against ground truth, JSON-normalized: strings trimmed and compared case-insensitively (order ids, reasons);
/// a number compared by value with the expected text ("5" equals 5.0); booleans and null by their JSON text; calculator
/// expressions by the value they evaluate to. An argument the expected call does not name is unexpected and fails the call.
/// </summary>
public static class ToolCallMatcher
{
    public static ArgumentComparison Compare(ToolCall call, IReadOnlyDictionary<string, string> expected)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(call.Arguments);
        }
        catch (JsonException)
        {
            return new ArgumentComparison(0, [], false);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return new ArgumentComparison(0, [], false);
            var matched = expected.Count(e => doc.RootElement.TryGetProperty(e.Key, out var actual) && ValueEquals(call.Name, actual, e.Value));
            var unexpected = expected.Count == 0
                ? []
                : doc.RootElement.EnumerateObject().Select(p => p.Name).Where(n => !expected.ContainsKey(n)).ToList();
            return new ArgumentComparison(matched, unexpected, true);
        }
    }

    /// <summary>One argument's JSON value against its expected text.</summary>
    public static bool ValueEquals(string tool, JsonElement actual, string expected)
    {
        switch (actual.ValueKind)
        {
            case JsonValueKind.String:
                var text = actual.GetString()!.Trim();
                return tool == "calculator" ? SameCalculation(text, expected) : string.Equals(text, expected.Trim(), StringComparison.OrdinalIgnoreCase);
            case JsonValueKind.Number:
                return actual.TryGetDecimal(out var got)
                    && decimal.TryParse(expected.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var want) && got == want;
            case JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null:
                return string.Equals(actual.GetRawText(), expected.Trim(), StringComparison.OrdinalIgnoreCase);
            default:
                return false;
        }
    }

    private static bool SameCalculation(string actual, string expected)
    {
        try
        {
            return ArithmeticExpression.Evaluate(actual) == ArithmeticExpression.Evaluate(expected);
        }
        catch (Exception e) when (e is FormatException or DivideByZeroException or OverflowException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
