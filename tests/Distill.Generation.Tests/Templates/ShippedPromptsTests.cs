using Distill.Core.Samples;
using Distill.Generation.Templates;

namespace Distill.Generation.Tests.Templates;

public sealed class ShippedPromptsTests
{
    private static readonly string PromptsFolder = Path.Combine(RepoPaths.Root(), "prompts");

    [Fact]
    public void All_shipped_templates_pass_lint()
    {
        var result = TemplateLinter.LintFolder(PromptsFolder);

        Assert.True(result.IsClean, string.Join('\n', result.Problems));
    }

    [Fact]
    public void The_recipes_templates_are_all_shipped()
    {
        var library = TemplateLibrary.LoadAndLint(PromptsFolder);

        Assert.Equal(
            ["cot-answer", "evol-deepen", "instruction-basic", "judge-score", "tool-agent", "user-simulator", "world-agent"],
            library.Templates.Select(t => t.Id));
        Assert.Equal(TemplateRecipes.ChainOfThought, library.Get("cot-answer").Recipe);
        Assert.Equal(OutputFormat.Tagged, library.Get("cot-answer").Output.Format);
        Assert.Equal("answer", library.Get("cot-answer").Output.AnswerTag);
        Assert.Equal(["score", "reason"], library.Get("judge-score").Output.Fields);
        Assert.Contains("\"maximum\":10", library.Get("judge-score").Output.SchemaJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_agent_policy_reaches_the_teacher_only()
    {
        var library = TemplateLibrary.LoadAndLint(PromptsFolder);
        var renderer = new TemplateRenderer(library);
        const string policy = "Refunds within 30 days of delivery; items marked FINAL SALE cannot be returned.";

        var rendered = await renderer.RenderAsync("tool-agent", new Dictionary<string, object?>
        {
            ["customer_message"] = "Where is order #1042? It's been a week & I'm worried <3",
            ["today"] = "2026-03-14",
            ["policy"] = policy,
        });

        Assert.Contains(policy, rendered.TeacherMessages[0].Content, StringComparison.Ordinal);
        Assert.DoesNotContain(policy, rendered.StudentMessages[0].Content, StringComparison.Ordinal);
        Assert.Contains("Today is 2026-03-14.", rendered.StudentMessages[0].Content, StringComparison.Ordinal);
        Assert.Equal(ChatMessage.User("Where is order #1042? It's been a week & I'm worried <3"), rendered.StudentMessages[1]);
        Assert.True(rendered.PrivilegedContextUsed);
        Assert.Equal(new GenerationParams(0.2, 1.0, null, 1024), rendered.Parameters);
    }

    [Fact]
    public async Task Judge_renders_its_default_criteria_as_a_list()
    {
        var renderer = new TemplateRenderer(TemplateLibrary.LoadAndLint(PromptsFolder));

        var rendered = await renderer.RenderAsync("judge-score", new Dictionary<string, object?>
        {
            ["instruction"] = "Can I return order 7?",
            ["response"] = "Yes, within 30 days.",
        });

        Assert.Contains("weighing:\n- Correctness: facts", rendered.TeacherMessages[0].Content, StringComparison.Ordinal);
        Assert.Contains("""{"score": <integer 1-10>, "reason": "<one sentence>"}""", rendered.TeacherMessages[0].Content, StringComparison.Ordinal);
        Assert.Contains("Reference answer:\n(no reference answer)", rendered.TeacherMessages[1].Content, StringComparison.Ordinal);
    }
}
