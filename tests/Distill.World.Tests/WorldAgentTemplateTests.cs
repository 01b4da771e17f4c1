using Distill.Core.Samples;
using Distill.Generation.Templates;
using Distill.World.Tasks;

namespace Distill.World.Tests;

/// <summary>The shipped world-agent template and the demonstrations agree on the system text, so the tokenizer, the demonstrations and generation see one prompt.</summary>
public sealed class WorldAgentTemplateTests
{
    private static string PromptsFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Platform.sln"))) return Path.Combine(dir.FullName, "prompts");
        }
        throw new InvalidOperationException("Platform.sln not found above the test binaries");
    }

    [Fact]
    public async Task World_agent_renders_the_demonstrations_system_prompt_with_the_domains_today()
    {
        var renderer = new TemplateRenderer(TemplateLibrary.LoadAndLint(PromptsFolder()));
        var domain = new WorldDomain(TestWorld.TheWorld);

        var rendered = await renderer.RenderAsync("world-agent", new Dictionary<string, object?>
        {
            ["customer_message"] = "Where is my order A12345?",
            ["today"] = domain.TemplateVariables["today"],
        });

        Assert.Equal(ChatMessage.System(ScriptedDemonstrations.SystemPrompt), rendered.StudentMessages[0]);
        Assert.Equal(ChatMessage.System(ScriptedDemonstrations.SystemPrompt), rendered.TeacherMessages[0]);
        Assert.Equal(ChatMessage.User("Where is my order A12345?"), rendered.StudentMessages[1]);
    }
}
