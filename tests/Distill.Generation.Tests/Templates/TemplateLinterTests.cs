using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class TemplateLinterTests
{
    /// <summary>A valid template; tests break one thing at a time. Line numbers are in the comments.</summary>
    private const string Valid = """
        ---
        id: t
        description: A valid template.
        recipe: cot
        variables:
          question: {type: string, required: true}
          policy: {type: string, required: true}
        privileged: [policy]
        parameters: {temperature: 0.2, max_tokens: 100}
        output: {format: tagged, answer_tag: answer}
        ---
        ## system
        Policy: {{$policy}}

        ## student system
        Be helpful.

        ## user
        {{$question}}
        """;

    private static IReadOnlyList<TemplateProblem> Lint(string text) => TemplateLinter.LintText("p/t.prompt", text);

    private static void AssertProblem(IReadOnlyList<TemplateProblem> problems, int line, string fragment) =>
        Assert.True(
            problems.Any(p => p.Line == line && p.Message.Contains(fragment, StringComparison.Ordinal) && p.File == "p/t.prompt"),
            $"expected a problem at line {line} containing '{fragment}', got:\n{string.Join('\n', problems)}");

    [Fact]
    public void Valid_template_has_no_problems()
    {
        Assert.Empty(Lint(Valid));
    }

    [Fact]
    public void Yaml_syntax_error_is_reported_at_the_file_line()
    {
        var text = Valid.Replace("output: {format: tagged, answer_tag: answer}", "output:\n  format: tagged\n answer_tag: answer", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 12, "front matter is not valid YAML");
    }

    [Fact]
    public void Duplicate_front_matter_key_is_reported_at_the_second_key()
    {
        var problems = Lint(Valid.Replace("recipe: cot\n", "recipe: cot\nrecipe: cot\n", StringComparison.Ordinal));

        AssertProblem(problems, 5, "Duplicate key");
    }

    [Fact]
    public void Missing_required_front_matter_fields_are_each_reported()
    {
        var text = Valid.Replace("description: A valid template.\n", "", StringComparison.Ordinal)
            .Replace("output: {format: tagged, answer_tag: answer}\n", "", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 1, "missing required field 'description'");
        AssertProblem(problems, 1, "missing required field 'output'");
        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void Unknown_recipe_is_reported_at_its_line()
    {
        AssertProblem(Lint(Valid.Replace("recipe: cot", "recipe: chain", StringComparison.Ordinal)), 4, "unknown recipe 'chain'");
    }

    [Fact]
    public void Unknown_front_matter_field_is_reported()
    {
        AssertProblem(Lint(Valid.Replace("recipe: cot\n", "recipe: cot\ntemprature: 1\n", StringComparison.Ordinal)), 5, "unknown front-matter field 'temprature'");
    }

    [Fact]
    public void Variable_used_but_not_declared_is_reported_at_the_use()
    {
        var problems = Lint(Valid + "\nand {{$context}}\n");

        AssertProblem(problems, 20, "variable 'context' is used but not declared");
    }

    [Fact]
    public void Variable_declared_but_never_used_is_reported_at_the_declaration()
    {
        var text = Valid.Replace("  policy:", "  tone: {type: string, default: calm}\n  policy:", StringComparison.Ordinal);

        AssertProblem(Lint(text), 7, "variable 'tone' is declared but never used");
    }

    [Fact]
    public void Missing_output_format_and_missing_answer_tag_are_reported()
    {
        AssertProblem(Lint(Valid.Replace("{format: tagged, answer_tag: answer}", "{fields: [a]}", StringComparison.Ordinal)), 10, "no format");
        AssertProblem(Lint(Valid.Replace("{format: tagged, answer_tag: answer}", "{format: tagged}", StringComparison.Ordinal)), 10, "needs answer_tag");
        AssertProblem(Lint(Valid.Replace("{format: tagged, answer_tag: answer}", "{format: xml}", StringComparison.Ordinal)), 10, "unknown output format 'xml'");
    }

    [Fact]
    public void Bad_variable_specs_and_parameters_are_reported()
    {
        var text = Valid
            .Replace("question: {type: string, required: true}", "question: {type: text, required: true}\n  n: {type: int, default: many}", StringComparison.Ordinal)
            .Replace("temperature: 0.2", "temperature: 3", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 6, "unknown type 'text'");
        AssertProblem(problems, 7, "default of variable 'n' expects int");
        AssertProblem(problems, 10, "'temperature' must be a number from 0 to 2");
    }

    [Fact]
    public void Variable_without_type_is_reported_once_not_also_as_undeclared()
    {
        var problem = Assert.Single(Lint(Valid.Replace("question: {type: string, required: true}", "question: {required: true}", StringComparison.Ordinal)));

        Assert.Equal(6, problem.Line);
        Assert.Contains("variable 'question' has no type", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{{$a b}}", "more than one token")]
    [InlineData("{{$}}", "no variable name")]
    [InlineData("{{$a-b}}", "must be letters, digits")]
    [InlineData("{{fetch $question}}", "function call")]
    [InlineData("x {{$question", "never closed")]
    [InlineData("{{ 'open }}", "unterminated string")]
    [InlineData("{{ }}", "empty")]
    public void Template_syntax_errors_are_reported_at_the_body_line(string block, string fragment)
    {
        var text = Valid.Replace("{{$question}}", "{{$question}}\n\n" + block, StringComparison.Ordinal);

        AssertProblem(Lint(text), 21, fragment);
    }

    [Fact]
    public void Syntax_semantic_kernel_rejects_is_reported_at_the_section()
    {
        var text = Valid.Replace("{{$question}}", "{{$question}} {{ 'a' 'b' }}", StringComparison.Ordinal);

        AssertProblem(Lint(text), 18, "Semantic Kernel rejects section '## user'");
    }

    [Fact]
    public void Privileged_variable_not_declared_is_reported_at_the_list()
    {
        AssertProblem(Lint(Valid.Replace("[policy]", "[policy, secret]", StringComparison.Ordinal)), 8, "privileged variable 'secret' is not declared");
    }

    [Fact]
    public void Privileged_variable_in_a_section_without_student_counterpart_is_reported()
    {
        var text = Valid.Replace("## student system\nBe helpful.\n\n", "", StringComparison.Ordinal);

        AssertProblem(Lint(text), 13, "no '## student system'");
    }

    [Fact]
    public void Privileged_variable_in_a_student_section_is_reported()
    {
        var text = Valid.Replace("Be helpful.", "Be helpful. {{$policy}}", StringComparison.Ordinal);

        AssertProblem(Lint(text), 16, "which the student sees");
    }

    [Fact]
    public void Body_structure_problems_are_reported()
    {
        var noUser = Valid.Replace("## user\n{{$question}}", "", StringComparison.Ordinal);
        AssertProblem(Lint(noUser), 12, "no '## user' section");

        var twice = Valid + "\n## user\nagain {{$question}}";
        AssertProblem(Lint(twice), 20, "appears twice (first at line 18)");

        var preamble = Valid.Replace("---\n## system", "---\nhello\n## system", StringComparison.Ordinal);
        var problem = Assert.Single(Lint(preamble));
        Assert.Equal(12, problem.Line);
        Assert.Contains("text before the first section", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Id_must_equal_the_file_name()
    {
        AssertProblem(Lint(Valid.Replace("id: t", "id: other", StringComparison.Ordinal)), 2, "must equal the file name 't'");
    }

    [Fact]
    public void Missing_front_matter_is_reported_at_line_one()
    {
        AssertProblem(Lint("## user\nhi\n"), 1, "must start with a '---'");
        AssertProblem(Lint("---\nid: t\n## user\nhi\n"), 1, "never closed");
    }

    [Fact]
    public void All_problems_are_returned_in_line_order_not_only_the_first()
    {
        var text = Valid
            .Replace("recipe: cot", "recipe: nope", StringComparison.Ordinal)
            .Replace("[policy]", "[policy, ghost]", StringComparison.Ordinal)
            .Replace("{{$question}}", "{{$question}} {{$undeclared}}", StringComparison.Ordinal);

        var problems = Lint(text);

        Assert.Equal([4, 8, 19], problems.Select(p => p.Line));
    }

    [Fact]
    public void Crlf_files_report_the_same_lines()
    {
        var problems = Lint(Valid.Replace("recipe: cot", "recipe: nope", StringComparison.Ordinal).ReplaceLineEndings("\r\n"));

        AssertProblem(problems, 4, "unknown recipe");
    }

    [Fact]
    public void Every_known_recipe_is_accepted_and_an_unknown_one_lists_them_all()
    {
        Assert.All(TemplateRecipes.All, recipe => Assert.Empty(Lint(Valid.Replace("recipe: cot", $"recipe: {recipe}", StringComparison.Ordinal))));

        AssertProblem(Lint(Valid.Replace("recipe: cot", "recipe: nope", StringComparison.Ordinal)), 4,
            $"expected one of: {string.Join(", ", TemplateRecipes.All)}");
    }

    [Fact]
    public void Block_style_problems_are_reported_at_the_key_that_holds_them()
    {
        var text = Valid.Replace("output: {format: tagged, answer_tag: answer}",
            "output:\n  format: text\n  colour: red\n  answer_tag:\n    answer", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 12, "unknown output field 'colour'; expected one of: format, fields, schema, answer_tag");
        AssertProblem(problems, 13, "output 'answer_tag' only applies to format 'tagged'");
    }

    [Fact]
    public void Nested_variable_problems_name_the_variable_and_the_field()
    {
        var text = Valid.Replace("question: {type: string, required: true}", "question: {type: string, required: maybe, colour: red}", StringComparison.Ordinal)
            .Replace("  policy:", "  9lives: {type: int}\n  policy:", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 6, "variable 'question' required must be true or false");
        AssertProblem(problems, 6, "variable 'question' has unknown field 'colour'; expected one of: type, required, default, description");
        AssertProblem(problems, 7, "variable name '9lives' must be letters, digits and '_'");
    }

    [Fact]
    public void Wrong_kinds_of_values_are_reported_without_stopping_the_other_checks()
    {
        var text = Valid
            .Replace("privileged: [policy]", "privileged: policy", StringComparison.Ordinal)
            .Replace("max_tokens: 100", "max_tokens: -1", StringComparison.Ordinal)
            .Replace("{{$question}}", "{{$question}} {{$undeclared}}", StringComparison.Ordinal);

        var problems = Lint(text);

        AssertProblem(problems, 8, "'privileged' must be a list of variable names");
        AssertProblem(problems, 9, "parameter 'max_tokens' must be a positive integer");
        AssertProblem(problems, 19, "variable 'undeclared' is used but not declared");
    }
}
