using Json.Schema;

namespace Distill.Generation.Schemas;

/// <summary>Reading JsonSchema.Net's hierarchical results: which nodes failed, and the segments of their JSON pointers.</summary>
internal static class SchemaFailures
{
    /// <summary>
    /// The failed nodes that make the result fail, parents first. A valid node's failed children (an <c>if</c> that did not
    /// hold, an <c>anyOf</c> branch another branch beat) are not problems, so they are not walked.
    /// </summary>
    public static IEnumerable<EvaluationResults> Failed(EvaluationResults node)
    {
        if (node.IsValid || Segments(node.EvaluationPath.ToString()).LastOrDefault() == "if")
        {
            yield break;
        }

        yield return node;
        foreach (var child in node.Details ?? [])
        {
            foreach (var failed in Failed(child))
            {
                yield return failed;
            }
        }
    }

    /// <summary>The unescaped segments of a JSON pointer ("/a~1b/0" is "a/b", "0").</summary>
    public static List<string> Segments(string pointer) =>
        pointer.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => Uri.UnescapeDataString(s).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))
            .ToList();
}
