using System.Text;
using System.Text.Json;
using Distill.Server.Constraints;

namespace Distill.Server.Tests.Constraints;

public class JsonGrammarTests
{
    public const string WeatherTools = """
        [{"type": "function", "function": {"name": "weather", "description": "Forecast", "parameters": {
          "type": "object",
          "properties": {
            "city": {"type": "string", "description": "a city"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer"},
            "temp": {"type": "number"},
            "ok": {"type": "boolean"},
            "note": {"type": ["string", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
            "where": {"type": "object", "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}, "required": ["lat", "lon"], "additionalProperties": false}
          },
          "required": ["city", "days"],
          "additionalProperties": false}}},
         {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {}}}}]
        """;

    const string Open = "<tool_call>\n{\"name\": \"weather\", \"arguments\": ";
    const string Close = "}\n</tool_call>";

    static readonly ToolCallGrammar Grammar = ToolCallGrammar.Compile(WeatherTools);

    static GrammarState? Run(string text) => Grammar.Start().Feed(Encoding.UTF8.GetBytes(text));

    static bool Prefix(string arguments) => Run(Open + arguments) is not null;

    [Theory]
    [InlineData("{\"city\": \"Paris\", \"days\": 3}")]
    [InlineData("{\"city\": \"\", \"days\": -0}")]
    [InlineData("{\"city\": \"Köln \\\"Süd\\\" \\u00e9\\n\", \"unit\": \"celsius\", \"days\": 10, \"temp\": -2.5e-3, \"ok\": false, \"note\": null, \"tags\": [\"a\", \"b\"], \"where\": {\"lat\": 1.5, \"lon\": 0}}")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"note\": \"n\", \"tags\": []}")]
    public void Complete_calls_are_accepted_and_finish_the_grammar(string arguments)
    {
        var state = Run(Open + arguments + Close);

        Assert.NotNull(state);
        Assert.True(state.IsComplete);
        Assert.Null(state.Feed((byte)'\n')); // nothing may follow but the end of the turn
    }

    [Fact]
    public void Any_tool_name_may_be_chosen_and_decides_the_arguments_schema()
    {
        Assert.True(Run("<tool_call>\n{\"name\": \"ping\", \"arguments\": {}" + Close)!.IsComplete);
        Assert.Null(Run("<tool_call>\n{\"name\": \"ping\", \"arguments\": {\"city\""));
        Assert.Null(Run("<tool_call>\n{\"name\": \"pong"));
        Assert.Null(Run(Open + "{}")); // weather requires city and days
    }

    [Theory]
    [InlineData("{\"days\"")]                          // required city skipped
    [InlineData("{\"city\": \"x\", \"unit\": \"kelvin")] // not in the enum
    [InlineData("{\"city\": \"x\"}")]                  // closed before required days
    [InlineData("{\"city\":\"x\"")]                    // separators are exactly ": " and ", "
    [InlineData("{ \"city\"")]
    [InlineData("{\"city\": \"x\", \"zzz\"")]          // undeclared property
    [InlineData("{\"city\": \"x\", \"days\": 1, \"unit\"")] // out of declaration order
    [InlineData("{\"city\": 5")]                       // wrong type
    [InlineData("{\"city\": \"x\", \"days\": 01")]     // leading zero
    [InlineData("{\"city\": \"x\", \"days\": 1.5")]    // integer only
    [InlineData("{\"city\": \"x\", \"days\": 1e3")]
    [InlineData("{\"city\": \"x\", \"days\": -}")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"temp\": 1.}")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"temp\": 1e}")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"ok\": tru}")]
    [InlineData("{\"city\": \"x\\q")]                  // unknown escape
    [InlineData("{\"city\": \"x\\ud800")]              // lone surrogate escape
    [InlineData("{\"city\": \"x\\u12g")]
    [InlineData("{\"city\": \"a\nb")]                  // raw control character
    [InlineData("{\"city\": \"a</tool_call>")]         // would end the call early for the parser
    [InlineData("{\"city\": \"a<|im_end|>")]
    [InlineData("{\"city\": \"a</think>")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"tags\": [\"a\", \"b\", \"c\", \"d\"")] // maxItems 3
    [InlineData("{\"city\": \"x\", \"days\": 1, \"where\": {\"lon\"")] // nested required order
    [InlineData("{\"city\": \"x\", \"days\": 1, \"where\": {\"lat\": 1}")]
    public void Invalid_prefixes_are_rejected(string arguments) => Assert.False(Prefix(arguments));

    [Theory]
    [InlineData("{\"city\": \"a<b>c</tool")]           // '<' itself is fine; only the markers are kept out
    [InlineData("{\"city\": \"x\", \"days\": 12")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"temp\": 3.25E+10")]
    [InlineData("{\"city\": \"x\", \"unit\": \"cel")]
    [InlineData("{\"city\": \"x\", \"days\": 1, \"note\": nu")]
    public void Valid_prefixes_are_accepted(string arguments) => Assert.True(Prefix(arguments));

    [Fact]
    public void Utf8_is_checked_byte_by_byte_so_tokens_may_split_a_character()
    {
        var state = Run(Open + "{\"city\": \"")!;
        var euro = "€"u8.ToArray();

        var half = state.Feed(euro.AsSpan(0, 2));
        Assert.NotNull(half);
        Assert.NotNull(half.Feed(euro[2]));
        Assert.Null(half.Feed((byte)'"'));          // a character cut short
        Assert.Null(state.Feed(0xFF));
        Assert.Null(state.Feed([0xC0, 0x80]));      // overlong
        Assert.Null(state.Feed([0xED, 0xA0, 0x80])); // UTF-8 encoded surrogate
    }

    [Fact]
    public void Strings_are_capped_so_a_model_cannot_write_forever()
    {
        var grammar = ToolCallGrammar.Compile(
            """[{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"s": {"type": "string", "maxLength": 3}}, "required": ["s"]}}}]""");
        var state = grammar.Start().Feed(Encoding.UTF8.GetBytes("<tool_call>\n{\"name\": \"f\", \"arguments\": {\"s\": \"ab\\n"))!;

        Assert.Null(state.Feed((byte)'x'));
        Assert.NotNull(state.Feed((byte)'"'));
    }

    [Fact]
    public void Min_remaining_is_the_length_of_the_shortest_completion()
    {
        var start = Run(Open)!;
        const string shortest = "{\"city\": \"\", \"days\": 0}" + Close;

        Assert.Equal(Encoding.UTF8.GetByteCount(shortest), start.MinRemaining);
        // Walking the shortest completion lowers it by exactly one per byte.
        var state = start;
        var expected = start.MinRemaining;
        foreach (var b in Encoding.UTF8.GetBytes(shortest))
        {
            state = state.Feed(b)!;
            Assert.Equal(--expected, state.MinRemaining);
        }
        Assert.True(state.IsComplete);
    }

    [Theory]
    [InlineData("""{"type": "object", "properties": {"s": {"type": "string", "pattern": "^a"}}}""", "parameters.properties.s.pattern")]
    [InlineData("""{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}""", "parameters.properties.n.minimum")]
    [InlineData("""{"type": "object", "properties": {"v": {"anyOf": [{"type": "string"}]}}}""", "parameters.properties.v.anyOf")]
    [InlineData("""{"type": "object", "properties": {"v": {"$ref": "#/$defs/x"}}}""", "parameters.properties.v.$ref")]
    [InlineData("""{"type": "object", "properties": {"v": {"description": "anything"}}}""", "parameters.properties.v.type")]
    [InlineData("""{"type": "object", "required": ["missing"]}""", "parameters.required")]
    public void Unsupported_schema_keywords_are_refused_with_their_path(string schema, string path)
    {
        using var document = JsonDocument.Parse(schema);

        var error = Assert.Throws<UnsupportedSchemaException>(() => JsonSchemaSubset.Compile(document.RootElement, new JsonGrammarLimits()));

        Assert.Equal(path, error.Path);
    }

    [Fact]
    public void Annotations_and_additional_properties_are_accepted()
    {
        using var document = JsonDocument.Parse(
            """{"type": "object", "title": "t", "description": "d", "x-order": 1, "additionalProperties": {"type": "string"}, "properties": {"d": {"type": "string", "format": "date", "default": "x", "examples": ["y"]}}}""");

        Assert.IsType<ObjectNode>(JsonSchemaSubset.Compile(document.RootElement, new JsonGrammarLimits()));
    }
}
