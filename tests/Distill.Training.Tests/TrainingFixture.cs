using System.Text.Json.Nodes;
using Distill.Core.Samples;
using Distill.Data;
using Distill.Models.Chat;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Native;
using Distill.Models.Tokenization;
using Distill.Training.Config;
using Distill.Data.Synthetic;
using TorchSharp;

namespace Distill.Training.Tests;

/// <summary>
/// A small real setup shared by the trainer tests: a byte-level BPE trained on realistic synthetic tool-calling conversations
/// (system, tools, tool calls, tool results, reasoning), a dataset of those conversations (with teacher logprobs in the student's tokenizer) written by DatasetWriter,
/// and a tiny teacher model folder with the same tokenizer.
/// </summary>
public sealed class TrainingFixture : IDisposable
{
    public TrainingFixture()
    {
        TorchNative.EnsureLoaded();
        Root = Directory.CreateTempSubdirectory("distill-training-").FullName;
        var traces = SyntheticSamples.ToolTraces(48, seed: 3, logprobsTopK: 0).ToList();
        Tools = traces[0].Tools!;
        var template = new ChatTemplate();
        var corpus = traces.Select(t => template.Render(t.Messages, t.Tools).Text).ToList();
        TokenizerPath = Path.Combine(Root, "tokenizer.json");
        TokenizerJsonWriter.WriteFile(BpeTrainer.Train(corpus, 400, ChatTokens.All), TokenizerPath);
        Tokenizer = TokenizerLoader.Load(TokenizerPath);

        Samples = traces.Select((t, i) => MakeSample($"trace-{i:D3}", t.Messages, Tokenizer.TokenizerId)).ToList();
        DatasetDir = Path.Combine(Root, "dataset");
        WriteDataset(DatasetDir, Samples);

        TeacherDir = Path.Combine(Root, "teacher");
        torch.manual_seed(7);
        using (var teacher = new LlamaForCausalLM(TinyConfig()))
            ModelFolder.Save(teacher, TeacherDir);
        File.Copy(TokenizerPath, Path.Combine(TeacherDir, "tokenizer.json"));
    }

    public string Root { get; }
    public string Tools { get; }
    public string TokenizerPath { get; }
    public ITextTokenizer Tokenizer { get; }
    public IReadOnlyList<Sample> Samples { get; }
    public string DatasetDir { get; }
    public string TeacherDir { get; }

    public LlamaConfig TinyConfig()
    {
        var c = ModelPresets.Get("tiny-test", Tokenizer.VocabSize);
        c.MaxPositionEmbeddings = 256;
        return c;
    }

    /// <summary>
    /// A sample whose final assistant turn carries teacher logprobs with ids from <paramref name="tokenizerId"/>'s vocabulary
    /// (the other assistant turns none, as a schema version 1 dataset reads).
    /// </summary>
    public Sample MakeSample(string id, IReadOnlyList<ChatMessage> messages, string? tokenizerId)
    {
        var last = messages.ToList().FindLastIndex(m => m.Role == ChatRoles.Assistant);
        var final = messages[last];
        messages = [.. messages.Take(last), final with { Logprobs = TurnLogprobs(final) }, .. messages.Skip(last + 1)];
        return new Sample
        {
            Id = id,
            Kind = SampleKinds.ToolTrace,
            Messages = messages,
            Tools = Tools,
            Answer = final.Content,
            Rationale = "Look up the facts with the tools, then answer.",
            Teacher = new TeacherInfo("local", "fixture-teacher", tokenizerId),
        };
    }

    /// <summary>
    /// Teacher logprobs for an assistant turn as a teacher with the student's tokenizer reports them: one per token of the turn's
    /// output (the closing &lt;|im_end|&gt; excluded), the token itself first at -0.2, then two other ids at -2 and -3.
    /// </summary>
    public IReadOnlyList<TokenLogprob> TurnLogprobs(ChatMessage turn) =>
        Tokenizer.Encode(ChatTemplate.AssistantOutput(turn)).Select((tok, j) => new TokenLogprob(Tokenizer.IdToToken(tok) ?? "", tok, -0.2,
            [new TopLogprob(Tokenizer.IdToToken(tok) ?? "", tok, -0.2), new TopLogprob("x", (tok + 1 + j) % Tokenizer.VocabSize, -2.0),
             new TopLogprob("y", (tok + 7) % Tokenizer.VocabSize, -3.0)])).ToList();

    /// <summary><paramref name="sample"/> with its last assistant turn's logprobs replaced.</summary>
    public static Sample WithFinalLogprobs(Sample sample, IReadOnlyList<TokenLogprob> logprobs)
    {
        var last = sample.Messages.ToList().FindLastIndex(m => m.Role == ChatRoles.Assistant);
        return sample with { Messages = [.. sample.Messages.Take(last), sample.Messages[last] with { Logprobs = logprobs }, .. sample.Messages.Skip(last + 1)] };
    }

    public static void WriteDataset(string dir, IEnumerable<Sample> samples)
    {
        var writer = DatasetWriter.OpenAsync(dir).GetAwaiter().GetResult();
        foreach (var s in samples) writer.AppendAsync(s).AsTask().GetAwaiter().GetResult();
        writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>A config file for a short tiny-test run into <paramref name="runDir"/>; <paramref name="edit"/> changes the JSON.</summary>
    public string WriteConfig(string runDir, Action<JsonObject>? edit = null, string? fileName = null)
    {
        var studentDir = Path.Combine(Root, "tiny-student");
        lock (this)
        {
            if (!File.Exists(Path.Combine(studentDir, "config.json")))
            {
                torch.manual_seed(11);
                using var m = new LlamaForCausalLM(TinyConfig());
                ModelFolder.Save(m, studentDir);
                File.Copy(TokenizerPath, Path.Combine(studentDir, "tokenizer.json"), overwrite: true);
            }
        }
        var o = new JsonObject
        {
            ["name"] = "test",
            ["student"] = new JsonObject { ["model"] = studentDir },
            ["datasets"] = new JsonArray(DatasetDir),
            ["data"] = new JsonObject { ["max_length"] = 64, ["validation_fraction"] = 0.1, ["truncation"] = "left" },
            ["batch"] = new JsonObject { ["size"] = 4 },
            ["optimizer"] = new JsonObject { ["lr"] = 1e-2, ["warmup_steps"] = 2 },
            ["steps"] = 8,
            ["eval"] = new JsonObject { ["every"] = 4, ["batches"] = 2 },
            ["checkpoint_every"] = 4,
            ["log_every"] = 4,
            ["device"] = "cpu",
            ["seed"] = 5,
            ["out"] = runDir,
        };
        edit?.Invoke(o);
        var path = Path.Combine(Root, fileName ?? $"config-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, o.ToJsonString());
        return path;
    }

    public string NewDir(string prefix) => Path.Combine(Root, $"{prefix}-{Guid.NewGuid():N}");

    public static TrainConfig Load(string path) => TrainConfig.Load(path);

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class TrainingCollection : ICollectionFixture<TrainingFixture>
{
    public const string Name = "training";
}
