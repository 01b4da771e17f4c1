using Distill.Generation.Recipes;
using Distill.Generation.Templates;
using Distill.Generation.Tools;
using Distill.Models.Chat;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Server.Engine;
using Distill.Server.Hosting;
using Distill.Teachers;
using Distill.World;
using Distill.World.Store;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;

namespace Distill.Evaluation.Tests;

/// <summary>
/// The floor of the benchmark: a randomly initialised model, served by the real server and run through the real evaluator
/// (agent loop, tools executed, verifier), solves nothing. A verifier that could be fooled by noise would show here.
/// </summary>
public sealed class RandomModelTests
{
    [Fact]
    public async Task A_randomly_initialised_model_solves_no_held_out_task()
    {
        TorchNative.EnsureLoaded();
        var domain = new WorldDomain();
        var world = domain.World;
        var tasks = domain.Tasks("heldout", 10);
        var tools = new ToolRuntime(domain.Tools);
        var template = TemplateLibrary.LoadAndLint(Prompts()).Get("world-agent");
        // Few tokens per turn keep it fast: greedy noise repeats one token and never ends a turn, whatever the budget.
        template = template with { Parameters = template.Parameters with { MaxTokens = 48 } };

        // A tokenizer that knows the prompt's words, so the ~800-token prompt fits a small context and the model's random
        // tokens are world words (ids, tool names), the most plausible way noise could pass.
        var corpus = tasks.Select(t => t.Input).Append(tools.SchemasJson).Append(RefundPolicy.Text)
            .Concat(world.Orders.Keys.Take(200));
        var tokenizer = TokenizerLoader.Create(BpeTrainer.Train(corpus, 600, ChatTokens.All));
        torch.manual_seed(7);
        var config = ModelPresets.Get("tiny-test", tokenizer.VocabSize);
        config.MaxPositionEmbeddings = 4096;
        using var model = new LlamaForCausalLM(config);
        await using var engine = new LlamaChatEngine(model, tokenizer, new ChatTemplate(), "random", maxBatchRows: 16);
        await using var app = ChatServer.Build(engine, new ServeOptions { Host = "127.0.0.1", Port = 0 }, apiKey: null);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var registry = TeacherRegistry.Create([new TeacherOptions
        {
            Name = "random",
            Provider = TeacherProviders.OpenAICompatible,
            Endpoint = address.TrimEnd('/') + "/v1",
            Model = "random",
            MaxConcurrency = 10,
            MaxRetries = 0,
        }]);

        var dir = Directory.CreateTempSubdirectory("distill-eval-random-").FullName;
        try
        {
            var evaluator = new HeldOutEvaluator(template, tasks, tools, dir) { Variables = domain.TemplateVariables, Concurrency = 10, MaxSteps = 2, Samples = 2, Temperature = 1.0 };
            var subject = new EvaluationSubject("random", "in-process", "random-weights", registry.Get("random"));
            var result = await evaluator.EvaluateAsync(subject);

            Assert.Equal(10, result.Tasks);
            Assert.Equal(0, result.Succeeded);
            // The model really answered: a refused prompt (context too long) would make this test prove nothing.
            Assert.DoesNotContain(TeacherRejectReasons.RequestRejected, result.Rejected.Keys);
            Assert.Equal(0, result.Sampling!.PassAtK[2]);
            Assert.All(result.ByTag, g => Assert.Contains(g.Tag, new[] { ModelEvaluation.Tier, ModelEvaluation.Phrasing }));

            // Every sampled attempt has a seed of its own, and a second run resumes: nothing is asked again, the scores are the same.
            var sampled = await ModelEvaluation.ReadRowsAsync(evaluator.SampledDir(subject));
            Assert.Equal(20, sampled.Select(r => r.Sample.Params!.Seed).Distinct().Count());
            var again = await evaluator.EvaluateAsync(subject);
            Assert.Equal(result.Outcomes, again.Outcomes, (a, b) => a.TaskId == b.TaskId && a.Reject == b.Reject && a.SampledAttempts == b.SampledAttempts);
            Assert.Equal(20, (await ModelEvaluation.ReadRowsAsync(evaluator.SampledDir(subject))).Count);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Prompts()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "prompts");
            if (File.Exists(Path.Combine(candidate, "world-agent.prompt"))) return candidate;
        }
        throw new InvalidOperationException("prompts/ not found above the test folder");
    }
}
