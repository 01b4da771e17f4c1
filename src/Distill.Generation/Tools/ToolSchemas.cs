using System.Text.Json.Nodes;
using Microsoft.SemanticKernel;

namespace Distill.Generation.Tools;

/// <summary>Kernel functions as the OpenAI "tools" array, built from the functions' own metadata.</summary>
public static class ToolSchemas
{
    public static JsonArray ToOpenAiTools(IEnumerable<KernelFunction> functions) => new(functions
        .OrderBy(f => f.Name, StringComparer.Ordinal)
        .Select(f => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject
            {
                ["name"] = f.Name,
                ["description"] = f.Description,
                ["parameters"] = Parameters(f),
            },
        })
        .ToArray());

    /// <summary>The JSON schema of a function's arguments object, as the teacher is shown it.</summary>
    public static JsonObject Parameters(KernelFunction f) => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject(f.Metadata.Parameters.Select(p => KeyValuePair.Create(p.Name,
            p.Schema is null ? (JsonNode?)new JsonObject { ["type"] = "string" } : JsonNode.Parse(p.Schema.RootElement.GetRawText())))),
        ["required"] = new JsonArray(f.Metadata.Parameters.Where(p => p.IsRequired).Select(p => (JsonNode)p.Name).ToArray()),
    };
}
