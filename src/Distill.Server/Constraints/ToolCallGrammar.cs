using System.Text;
using System.Text.Json;
using Distill.Models.Chat;
using Distill.Models.Tokenization;

namespace Distill.Server.Constraints;

/// <summary>
/// The text of one tool call exactly as <see cref="ChatTemplate"/> renders it and <see cref="AssistantTurnParser"/> reads it:
/// <code>&lt;tool_call&gt;\n{"name": "NAME", "arguments": ARGS}\n&lt;/tool_call&gt;</code>
/// with NAME one of the tools and ARGS an object valid for that tool's "parameters" (see <see cref="JsonSchemaSubset"/>).
/// </summary>
public sealed class ToolCallGrammar
{
    internal static readonly byte[] Prefix = Encoding.UTF8.GetBytes(ChatTokens.ToolCallOpen + "\n{\"name\": ");
    internal static readonly byte[] Separator = Encoding.UTF8.GetBytes(", \"arguments\": ");
    internal static readonly byte[] Suffix = Encoding.UTF8.GetBytes("}\n" + ChatTokens.ToolCallClose);

    private ToolCallGrammar(IReadOnlyList<string> names, byte[][] nameLiterals, IReadOnlyList<ObjectNode> arguments)
    {
        Names = names;
        NameLiterals = nameLiterals;
        Arguments = arguments;
    }

    public IReadOnlyList<string> Names { get; }
    internal byte[][] NameLiterals { get; }
    public IReadOnlyList<ObjectNode> Arguments { get; }

    /// <summary>Compiles the OpenAI "tools" array.</summary>
    /// <param name="toolsJson">[{"type": "function", "function": {"name": ..., "parameters": {...}}}, ...]</param>
    /// <param name="onlyFunction">Restrict to this function (tool_choice naming one); null = any of the tools ("required").</param>
    /// <exception cref="UnsupportedSchemaException">A tool's parameters use JSON Schema that is not supported; Path is e.g. "tools[0].function.parameters.properties.x".</exception>
    public static ToolCallGrammar Compile(string toolsJson, string? onlyFunction = null, JsonGrammarLimits? limits = null)
    {
        limits ??= new JsonGrammarLimits();
        using var document = JsonDocument.Parse(toolsJson);
        var names = new List<string>();
        var arguments = new List<ObjectNode>();
        var index = 0;
        foreach (var tool in document.RootElement.EnumerateArray())
        {
            var path = $"tools[{index++}].function";
            var function = tool.GetProperty("function");
            var name = function.GetProperty("name").GetString()!;
            if (onlyFunction is not null && name != onlyFunction)
            {
                continue;
            }
            var parameters = function.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null
                ? JsonSchemaSubset.Compile(p, limits, $"{path}.parameters")
                : new ObjectNode([]);
            if (parameters is not ObjectNode objectNode)
            {
                throw new UnsupportedSchemaException($"{path}.parameters must describe an object (\"type\": \"object\").", $"{path}.parameters");
            }
            names.Add(name);
            arguments.Add(objectNode);
        }
        if (names.Count == 0)
        {
            throw new UnsupportedSchemaException(onlyFunction is null ? "There are no tools to call." : $"No tool is named '{onlyFunction}'.", "tools");
        }
        var literals = names.Select(n => Encoding.UTF8.GetBytes(PythonStyleJson.Serialize(JsonSerializer.SerializeToElement(n)))).ToArray();
        return new ToolCallGrammar(names, literals, arguments);
    }

    /// <summary>The state before the first byte of the tool call.</summary>
    public GrammarState Start() => GrammarState.Start(new ToolCallFrame(this, ToolCallFrame.Phase.Prefix, -1), new LiteralFrame(Prefix, 0));
}

/// <summary>The outer frame of <see cref="ToolCallGrammar"/>: prefix, name, separator, arguments, suffix.</summary>
internal sealed class ToolCallFrame(ToolCallGrammar grammar, ToolCallFrame.Phase phase, int tool) : Frame
{
    internal enum Phase { Prefix, Name, Separator, Arguments, Suffix }

    public override Step Feed(byte b) => Step.Reject; // every phase has a child that takes the bytes

    public override Step ChildDone(int result) => phase switch
    {
        Phase.Prefix => Step.Consumed(new ToolCallFrame(grammar, Phase.Name, -1), ChoiceFrame.Create(grammar.NameLiterals,
            grammar.Arguments.Select(a => ToolCallGrammar.Separator.Length + a.MinBytes + ToolCallGrammar.Suffix.Length).ToArray())),
        Phase.Name => Step.Consumed(new ToolCallFrame(grammar, Phase.Separator, result), new LiteralFrame(ToolCallGrammar.Separator, 0)),
        Phase.Separator => Step.Consumed(new ToolCallFrame(grammar, Phase.Arguments, tool), grammar.Arguments[tool].Start()),
        Phase.Arguments => Step.Consumed(new ToolCallFrame(grammar, Phase.Suffix, tool), new LiteralFrame(ToolCallGrammar.Suffix, 0)),
        _ => Step.Done(),
    };

    public override int MinRemaining => phase switch
    {
        Phase.Prefix => Enumerable.Range(0, grammar.Names.Count)
            .Min(i => grammar.NameLiterals[i].Length + ToolCallGrammar.Separator.Length + grammar.Arguments[i].MinBytes + ToolCallGrammar.Suffix.Length),
        Phase.Separator => grammar.Arguments[tool].MinBytes + ToolCallGrammar.Suffix.Length,
        Phase.Arguments => ToolCallGrammar.Suffix.Length,
        _ => 0,
    };
}
