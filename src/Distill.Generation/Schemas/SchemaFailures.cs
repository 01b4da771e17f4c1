using System.Text.Json.Nodes;
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

    /// <summary>
    /// Where the failing rule is in <paramref name="schema"/> ("/properties/tags/items"). JsonSchema.Net 8.0.5 repeats the
    /// keyword in an array item's evaluation path ("/properties/tags/items/items", and its schema location is worse), so a path
    /// that names nothing in the schema is read again with the repeats taken out.
    /// </summary>
    public static string RulePath(EvaluationResults node, JsonNode schema)
    {
        var path = node.EvaluationPath.ToString();
        return Resolve(schema, path) is null ? path.Replace("/items/items", "/items", StringComparison.Ordinal) : path;
    }

    /// <summary>The node a JSON pointer names, or null.</summary>
    public static JsonNode? Resolve(JsonNode? root, string pointer)
    {
        var node = root;
        foreach (var segment in Segments(pointer))
        {
            node = node switch
            {
                JsonObject o => o[segment],
                JsonArray a when int.TryParse(segment, out var i) && i >= 0 && i < a.Count => a[i],
                _ => null,
            };
        }

        return node;
    }

    /// <summary>The unescaped segments of a JSON pointer ("/a~1b/0" is "a/b", "0").</summary>
    public static List<string> Segments(string pointer) =>
        pointer.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => Uri.UnescapeDataString(s).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal))
            .ToList();
}
