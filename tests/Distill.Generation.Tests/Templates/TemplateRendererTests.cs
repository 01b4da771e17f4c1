using System.Text.Json;
using Distill.Core.Errors;
using Distill.Core.Samples;
using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class TemplateRendererTests
{
    private const string Typed = """
        ---
        id: typed
        description: Every variable type.
        recipe: instruction
        variables:
          text: {type: string, required: true}
          count: {type: int, default: 3}
          ratio: {type: number, default: 0.5}
          strict: {type: bool, default: false}
          items: {type: list, default: [alpha, "b & c"]}
          payload: {type: json, default: {a: 1, b: [true, "x<y"]}}
          note: {type: string}
        output: {format: text}
        ---
        ## system
        count={{$count}} ratio={{$ratio}} strict={{$strict}}
        items:
        {{$items}}
        payload={{$payload}}
        note=[{{$note}}]

        ## user
        {{$text}}
        """;

    private static readonly TemplateRenderer Renderer = new();

    private static Task<RenderedPrompt> Render(string template, params (string Name, object? Value)[] values) =>
        Renderer.RenderAsync(
            TemplateLinter.ParseText("mem/" + IdOf(template) + ".prompt", template),
            values.ToDictionary(v => v.Name, v => v.Value));

    private static string IdOf(string template) =>
        template.Split('\n').First(l => l.StartsWith("id:", StringComparison.Ordinal))["id:".Length..].Trim();

    [Fact]
    public async Task Special_characters_and_json_render_verbatim_without_html_encoding()
    {
        const string value = """Is <b>5 & 6</b> "quoted" or 'single'? {"order": 1042, "note": "a<b"} {{$not_a_var}}""";

        var rendered = await Render(Typed, ("text", value));

        Assert.Equal(value, rendered.TeacherMessages[1].Content);
        Assert.Equal(ChatRoles.User, rendered.TeacherMessages[1].Role);
    }

    [Fact]
    public async Task Defaults_are_applied_and_each_type_is_formatted()
    {
        var rendered = await Render(Typed, ("text", "hi"));

        Assert.Equal(
            """
            count=3 ratio=0.5 strict=false
            items:
            - alpha
            - b & c
            payload={"a":1,"b":[true,"x<y"]}
            note=[]
            """.ReplaceLineEndings("\n"),
            rendered.TeacherMessages[0].Content);
        Assert.Equal(ChatRoles.System, rendered.TeacherMessages[0].Role);
    }

    [Fact]
    public async Task Given_values_override_defaults_and_strings_are_parsed_for_typed_variables()
    {
        var rendered = await Render(
            Typed,
            ("text", "hi"),
            ("count", "42"),
            ("ratio", 1.25),
            ("strict", "TRUE"),
            ("items", new[] { "one", "<two>" }),
            ("payload", JsonDocument.Parse("""{"k": "v&w"}""").RootElement),
            ("note", "n"));

        Assert.Equal(
            """
            count=42 ratio=1.25 strict=true
            items:
            - one
            - <two>
            payload={"k": "v&w"}
            note=[n]
            """.ReplaceLineEndings("\n"),
            rendered.TeacherMessages[0].Content);
    }

    [Fact]
    public async Task Json_objects_serialize_without_unicode_escapes()
    {
        var rendered = await Render(Typed, ("text", "x"), ("payload", new { q = "a<b & \"c\"" }));

        Assert.Contains("""payload={"q":"a<b & \"c\""}""", rendered.TeacherMessages[0].Content, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_required_variable_error_names_the_template_and_the_variable()
    {
        var error = await Assert.ThrowsAsync<DistillException>(() => Render(Typed));

        Assert.Contains("template 'typed'", error.Message, StringComparison.Ordinal);
        Assert.Contains("variable 'text'", error.Message, StringComparison.Ordinal);
        Assert.Contains("mem/typed.prompt:6", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("count", "many", "expects int")]
    [InlineData("count", true, "expects int")]
    [InlineData("ratio", "NaN", "expects number")]
    [InlineData("strict", "yes", "expects bool")]
    [InlineData("items", "not a list", "expects list")]
    [InlineData("payload", "{broken", "expects json")]
    [InlineData("text", 12, "expects string")]
    public async Task Wrong_type_error_names_the_variable_and_the_expected_type(string name, object value, string expected)
    {
        var values = new List<(string, object?)> { (name, value) };
        if (name != "text")
        {
            values.Add(("text", "x"));
        }

        var error = await Assert.ThrowsAsync<DistillException>(() => Render(Typed, [.. values]));

        Assert.Contains($"variable '{name}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undeclared_variable_is_an_error_listing_the_declared_ones()
    {
        var error = await Assert.ThrowsAsync<DistillException>(() => Render(Typed, ("text", "x"), ("txet", "typo")));

        Assert.Contains("no variable 'txet'", error.Message, StringComparison.Ordinal);
        Assert.Contains("declared: text, count", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task All_variable_errors_are_reported_at_once()
    {
        var error = await Assert.ThrowsAsync<DistillException>(() => Render(Typed, ("count", "x")));

        Assert.Contains("variable 'count'", error.Message, StringComparison.Ordinal);
        Assert.Contains("variable 'text'", error.Message, StringComparison.Ordinal);
    }

    private const string Privileged = """
        ---
        id: agent
        description: Privileged policy and hint.
        recipe: tool_trace
        variables:
          policy: {type: string, required: true}
          hint: {type: string}
          question: {type: string, required: true}
        privileged: [policy, hint]
        output: {format: text}
        ---
        ## system
        You are an agent.
        Policy: {{$policy}}

        ## student system
        You are an agent.

        ## user
        {{$question}}
        Hint: {{$hint}}

        ## student user
        {{$question}}
        """;

    [Fact]
    public async Task Privileged_variables_reach_the_teacher_but_not_the_student()
    {
        var rendered = await Render(Privileged, ("policy", "Refunds within 30 days."), ("hint", "Answer: yes"), ("question", "Can I return it?"));

        Assert.Equal(
            [ChatMessage.System("You are an agent.\nPolicy: Refunds within 30 days."), ChatMessage.User("Can I return it?\nHint: Answer: yes")],
            rendered.TeacherMessages);
        Assert.Equal([ChatMessage.System("You are an agent."), ChatMessage.User("Can I return it?")], rendered.StudentMessages);
        Assert.True(rendered.PrivilegedContextUsed);
        Assert.Equal(["question"], rendered.StudentVisibleVariables.Keys);
    }

    [Fact]
    public async Task Empty_privileged_values_do_not_flag_privileged_context()
    {
        var rendered = await Render(Privileged, ("policy", ""), ("question", "q"));

        Assert.False(rendered.PrivilegedContextUsed);
    }

    [Fact]
    public async Task Without_privileged_variables_student_messages_equal_teacher_messages()
    {
        var rendered = await Render(Typed, ("text", "hello"));

        Assert.Equal(rendered.TeacherMessages, rendered.StudentMessages);
        Assert.False(rendered.PrivilegedContextUsed);
    }

    [Fact]
    public async Task Template_without_system_section_renders_only_a_user_message()
    {
        const string userOnly = """
            ---
            id: user-only
            description: d
            recipe: instruction
            variables:
              q: {type: string, required: true}
            output: {format: text}
            ---
            ## user
            Q: {{$q}}
            """;

        var rendered = await Render(userOnly, ("q", "a & b"));

        Assert.Equal([ChatMessage.User("Q: a & b")], rendered.TeacherMessages);
    }

    [Fact]
    public async Task Variables_inside_json_braces_and_markers_in_any_case_render_exactly()
    {
        const string template = """
            ---
            id: braces
            description: d
            recipe: judge
            variables:
              n: {type: int, required: true}
              s: {type: json, required: true}
            output: {format: json, fields: [a]}
            ---
            ## System
            Reply as {"a": {{$n}}, "b": {{$s}}}.
            ## USER
            go
            """;

        var rendered = await Render(template, ("n", 7), ("s", "\"<x>\""));

        Assert.Equal([ChatMessage.System("""Reply as {"a": 7, "b": "<x>"}."""), ChatMessage.User("go")], rendered.TeacherMessages);
    }

    [Fact]
    public void Cli_vars_parse_name_equals_value_and_reject_bad_pairs()
    {
        var values = TemplateVariableArgs.Parse(["a=1", "b=x=y", "c="]);

        Assert.Equal(new Dictionary<string, object?> { ["a"] = "1", ["b"] = "x=y", ["c"] = "" }, values);
        Assert.Throws<DistillException>(() => TemplateVariableArgs.Parse(["novalue"]));
        Assert.Throws<DistillException>(() => TemplateVariableArgs.Parse(["a=1", "a=2"]));
    }
}
