using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Tokenization;
using Distill.Server.Constraints;

namespace Distill.Server.Engine;

/// <summary>
/// Serves a TorchSharp Llama-family model. Requests go into a queue; a scheduler loop takes everything waiting
/// (up to the batch size, in rows: a request with n = 4 is four rows), groups requests whose sampling settings
/// match, and decodes each group as one batch with the KV cache. So concurrent clients share forward passes instead
/// of waiting for each other. There is one loop per replica of the model, all reading the one queue, and each replica is
/// only ever used by its own loop: on CPU a decode step runs on one thread (<see cref="Distill.Models.Performance.DecodeThreads"/>),
/// so a second replica puts the second core to work on another batch (a small model's weights are cheap to hold twice).
/// <para>tool_choice "required" or a named function is enforced by constrained decoding: each such row gets a
/// <see cref="ToolCallConstraint"/> (its own mask in the shared batch), so the reply is one well-formed tool call whose
/// arguments match the function's JSON schema, whatever the weights. Under tool_choice "auto" a call the model opens itself is
/// guided the same way (<see cref="GuidedToolCallConstraint"/>) unless guideToolCalls is off.</para>
/// </summary>
public sealed class LlamaChatEngine : IChatEngine, IAsyncDisposable
{
    private const int DefaultMaxTokens = 512;

    private readonly IReadOnlyList<LlamaForCausalLM> _replicas;
    private readonly ITextTokenizer _tokenizer;
    private readonly ChatTemplate _template;
    private readonly int _maxBatchRows;
    private readonly long[] _stopTokenIds;
    private readonly long[] _endOfTurnIds;
    private readonly Lazy<TokenVocabulary> _vocabulary;
    private readonly Channel<Job> _queue = Channel.CreateUnbounded<Job>();
    private readonly Task[] _schedulers;
    private readonly bool _guideToolCalls;

    /// <param name="guideToolCalls">Under tool_choice "auto", constrain a tool call the model opens to the tools' grammar.</param>
    public LlamaChatEngine(LlamaForCausalLM model, ITextTokenizer tokenizer, ChatTemplate template, string modelId, int maxBatchRows = 8,
        bool guideToolCalls = true)
        : this([model], tokenizer, template, modelId, maxBatchRows, guideToolCalls)
    {
    }

    /// <param name="replicas">Copies of one model (same weights), each decoded by its own scheduler loop; the caller owns them.</param>
    /// <param name="guideToolCalls">Under tool_choice "auto", constrain a tool call the model opens to the tools' grammar.</param>
    public LlamaChatEngine(IReadOnlyList<LlamaForCausalLM> replicas, ITextTokenizer tokenizer, ChatTemplate template, string modelId, int maxBatchRows = 8,
        bool guideToolCalls = true)
    {
        if (replicas.Count == 0) throw new ArgumentException("at least one model replica is needed", nameof(replicas));
        var model = replicas[0];
        _guideToolCalls = guideToolCalls;
        _replicas = replicas;
        _tokenizer = tokenizer;
        _template = template;
        _maxBatchRows = Math.Max(1, maxBatchRows);
        ModelId = modelId;
        _stopTokenIds = new[] { tokenizer.EosId, Added(ChatTokens.ImEnd), Added(ChatTokens.EndOfText) }
            .Where(id => id is not null).Select(id => (long)id!.Value).Distinct().ToArray();
        _endOfTurnIds = Added(ChatTokens.ImEnd) is { } imEnd ? [imEnd] : _stopTokenIds;
        _vocabulary = new Lazy<TokenVocabulary>(() => new TokenVocabulary(tokenizer, model.Config.VocabSize));
        _schedulers = replicas
            .Select(replica => Task.Factory.StartNew(() => RunSchedulerAsync(replica), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap())
            .ToArray();
    }

    public string ModelId { get; }
    public int ContextLength => _replicas[0].Config.MaxPositionEmbeddings;

    /// <summary>Model replicas decoding in parallel (one scheduler loop each).</summary>
    public int DecodeWorkers => _replicas.Count;

    /// <summary>Batches decoded so far and the rows in each: lets tests and benchmarks see that requests were batched.</summary>
    public List<int> BatchSizes { get; } = [];

    public int CountPromptTokens(EngineRequest request) => PromptIds(request).Length;

    public async Task<EngineResult> CompleteAsync(EngineRequest request, CancellationToken cancellationToken)
    {
        var job = CreateJob(request, stream: null);
        await _queue.Writer.WriteAsync(job, cancellationToken);
        return await job.Done.Task.WaitAsync(cancellationToken);
    }

    public async IAsyncEnumerable<EngineDelta> StreamAsync(EngineRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var deltas = Channel.CreateUnbounded<EngineDelta>();
        var job = CreateJob(request, deltas.Writer);
        await _queue.Writer.WriteAsync(job, cancellationToken);
        await foreach (var delta in deltas.Reader.ReadAllAsync(cancellationToken))
        {
            yield return delta;
        }
        await job.Done.Task; // surfaces a failure that ended the stream early
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_schedulers);
    }

    private int? Added(string token) => _tokenizer.AddedTokens.TryGetValue(token, out var id) ? id : null;

    /// <summary>Text the reply is forced to start with, so tool_choice "required" or a named function is obeyed.</summary>
    private static string Prefill(EngineRequest request) => request.ToolChoice.Mode switch
    {
        "required" => "<tool_call>\n",
        "function" => $"<tool_call>\n{{\"name\": \"{request.ToolChoice.FunctionName}\", \"arguments\": ",
        _ => "",
    };

    /// <summary>
    /// The token ids the model is given for a request: the conversation rendered with this engine's chat template (tools
    /// left out under tool_choice "none"), the generation prompt, and the text a forced tool call starts with.
    /// </summary>
    public int[] PromptIds(EngineRequest request)
    {
        var tools = request.ToolChoice.Mode == "none" ? null : request.ToolsJson;
        var ids = _template.Tokenize(_tokenizer, request.Messages, tools, addGenerationPrompt: true).Ids;
        var prefill = Prefill(request);
        return prefill.Length == 0 ? ids : [.. ids, .. _tokenizer.Encode(prefill)];
    }

    private Job CreateJob(EngineRequest request, ChannelWriter<EngineDelta>? stream)
    {
        var prompt = PromptIds(request);
        if (prompt.Length >= ContextLength)
        {
            throw new EngineRequestException(
                $"This model's maximum context length is {ContextLength} tokens; the messages use {prompt.Length}.",
                "context_length_exceeded", "messages");
        }
        var maxTokens = Math.Min(request.MaxTokens ?? DefaultMaxTokens, ContextLength - prompt.Length);
        return new Job(request, prompt, maxTokens, Prefill(request), stream, Grammar(request), GuideGrammar(request));
    }

    /// <summary>
    /// The grammar that guides tool calls the model opens under tool_choice "auto", or null. Tools whose schemas the grammar
    /// cannot express are served unguided rather than refused: "auto" never promised a constraint.
    /// </summary>
    private ToolCallGrammar? GuideGrammar(EngineRequest request)
    {
        if (!_guideToolCalls || request.ToolChoice.Mode != "auto" || request.ToolsJson is null)
        {
            return null;
        }
        try
        {
            return ToolCallGrammar.Compile(request.ToolsJson);
        }
        catch (UnsupportedSchemaException)
        {
            return null;
        }
    }

    /// <summary>The grammar a forced tool call must follow, or null when the reply is free.</summary>
    private static ToolCallGrammar? Grammar(EngineRequest request)
    {
        if (request.ToolChoice.Mode is not ("required" or "function") || request.ToolsJson is null)
        {
            return null;
        }
        ToolCallGrammar grammar;
        try
        {
            grammar = ToolCallGrammar.Compile(request.ToolsJson, request.ToolChoice.Mode == "function" ? request.ToolChoice.FunctionName : null);
        }
        catch (UnsupportedSchemaException e)
        {
            throw new EngineRequestException(e.Message, "invalid_function_parameters", e.Path);
        }
        if (grammar.Start().Feed(System.Text.Encoding.UTF8.GetBytes(Prefill(request))) is null)
        {
            // The prefill writes the name raw, as the chat template does; a name that JSON must escape cannot be forced.
            throw new EngineRequestException($"tool_choice names '{request.ToolChoice.FunctionName}', which cannot be written as a tool call; " +
                "use letters, digits, '_' and '-' as OpenAI requires.", "invalid_value", "tool_choice");
        }
        return grammar;
    }

    private async Task RunSchedulerAsync(LlamaForCausalLM replica)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            var waiting = new List<Job>();
            var rows = 0;
            while (rows < _maxBatchRows && reader.TryRead(out var job))
            {
                waiting.Add(job);
                rows += job.Request.N;
            }
            foreach (var group in waiting.GroupBy(j => j.SamplingKey))
            {
                var live = group.Where(j => !j.Done.Task.IsCompleted).ToList();
                if (live.Count == 0)
                {
                    continue;
                }
                try
                {
                    Decode(replica, live);
                }
                catch (Exception e)
                {
                    foreach (var job in live)
                    {
                        job.Fail(e);
                    }
                }
            }
        }
    }

    private void Decode(LlamaForCausalLM replica, List<Job> jobs)
    {
        var rows = jobs.SelectMany(job => Enumerable.Range(0, job.Request.N).Select(choice => (Job: job, Choice: choice))).ToList();
        var first = jobs[0].Request;
        var options = new GenerationOptions
        {
            MaxNewTokens = jobs.Max(j => j.MaxTokens),
            Temperature = first.Temperature,
            TopP = first.TopP,
            Seed = first.Seed is { } seed ? unchecked((ulong)seed) : null,
            StopTokenIds = _stopTokenIds,
            TopLogprobs = first.Logprobs ? first.TopLogprobs : 0,
            PadTokenId = _tokenizer.PadId ?? _stopTokenIds.FirstOrDefault(),
        };
        var states = rows.Select(r => new ChoiceState(r.Job, r.Choice)).ToArray();
        lock (BatchSizes)
        {
            BatchSizes.Add(rows.Count);
        }

        var constraints = rows.Any(r => r.Job.Grammar is not null || r.Job.GuideGrammar is not null)
            ? rows.Select(r => r.Job switch
            {
                { Grammar: { } grammar } => new ToolCallConstraint(grammar, _vocabulary.Value, _endOfTurnIds, r.Job.MaxTokens, r.Job.Prefill),
                { GuideGrammar: { } guide } => new GuidedToolCallConstraint(guide, _vocabulary.Value, _endOfTurnIds, r.Job.MaxTokens),
                _ => (ITokenConstraint?)null,
            }).ToList()
            : null;
        var results = LlamaGenerator.Generate(replica, rows.Select(r => (IReadOnlyList<long>)r.Job.Prompt.Select(t => (long)t).ToList()).ToList(),
            options, (row, token) => OnToken(states[row], token), constraints: constraints);

        foreach (var job in jobs)
        {
            var choices = new List<EngineChoice>();
            for (var i = 0; i < rows.Count; i++)
            {
                if (rows[i].Job == job)
                {
                    choices.Add(Finish(states[i], results[i]));
                }
            }
            var usage = new EngineUsage(job.Prompt.Length, states.Where(s => s.Job == job).Sum(s => s.Kept.Count));
            if (job.Stream is { } stream)
            {
                for (var c = 0; c < choices.Count; c++)
                {
                    var last = c == choices.Count - 1;
                    stream.TryWrite(new EngineDelta(c, ToolCalls: choices[c].ToolCalls, FinishReason: choices[c].FinishReason, Usage: last ? usage : null));
                }
                stream.TryComplete();
            }
            job.Done.TrySetResult(new EngineResult(choices, usage));
        }
    }

    private void OnToken(ChoiceState state, GeneratedToken token)
    {
        if (state.Kept.Count >= state.Job.MaxTokens || state.Stopped)
        {
            return;
        }
        state.Kept.Add(token);
        var stream = state.Job.Stream;
        if (stream is null && state.Job.Request.Stop.Count == 0)
        {
            return; // Nothing needs the text before Finish decodes it once.
        }
        var text = state.Job.Prefill + _tokenizer.Decode(state.Kept.Select(t => (int)t.TokenId));
        if (state.Job.Request.Stop.Any(s => text.Contains(s, StringComparison.Ordinal)))
        {
            state.Stopped = true;
        }
        if (stream is null)
        {
            return;
        }
        var (reasoning, content) = state.Splitter.Next(text, final: false);
        if (reasoning is null && content is null)
        {
            return;
        }
        var logprobs = state.Job.Request.Logprobs ? state.Kept.Skip(state.LogprobsSent).Select(ToLogprob).ToList() : null;
        state.LogprobsSent = state.Kept.Count;
        stream.TryWrite(new EngineDelta(state.Choice, Content: content, Reasoning: reasoning, Logprobs: logprobs));
    }

    private EngineChoice Finish(ChoiceState state, GenerationResult result)
    {
        var request = state.Job.Request;
        var text = state.Job.Prefill + _tokenizer.Decode(state.Kept.Select(t => (int)t.TokenId));
        var finish = result.FinishReason == FinishReason.Stop ? FinishReasons.Stop : FinishReasons.Length;
        if (state.Kept.Count >= state.Job.MaxTokens && result.Tokens.Count > state.Kept.Count)
        {
            finish = FinishReasons.Length;
        }
        foreach (var stop in request.Stop)
        {
            var at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0)
            {
                text = text[..at];
                finish = FinishReasons.Stop;
            }
        }
        if (state.Job.Stream is { } stream)
        {
            var (reasoningDelta, contentDelta) = state.Splitter.Next(text, final: true);
            var logprobs = request.Logprobs ? state.Kept.Skip(state.LogprobsSent).Select(ToLogprob).ToList() : null;
            if (reasoningDelta is not null || contentDelta is not null || logprobs is { Count: > 0 })
            {
                stream.TryWrite(new EngineDelta(state.Choice, Content: contentDelta, Reasoning: reasoningDelta, Logprobs: logprobs));
            }
        }
        return ChoiceFromText(state.Choice, text, finish, request.CallableToolNames,
            request.Logprobs ? state.Kept.Select(ToLogprob).ToList() : null);
    }

    /// <summary>
    /// The choice a finished reply makes. A &lt;tool_call&gt; block that does not parse or calls a function not offered
    /// stays in the content as the model wrote it, as vLLM returns it, instead of vanishing into an empty message; valid
    /// calls beside it are still tool calls (see <see cref="AssistantTurnParser"/>).
    /// </summary>
    /// <param name="text">The reply as generated (prefill included), already cut at any stop string.</param>
    /// <param name="finish">"stop" or "length" from decoding; becomes "tool_calls" when a call was made and decoding stopped.</param>
    internal static EngineChoice ChoiceFromText(int index, string text, string finish, IReadOnlyList<string> toolNames,
        IReadOnlyList<TokenLogprob>? logprobs)
    {
        var parsed = AssistantTurnParser.Parse(text, $"call_{Guid.NewGuid():N}"[..13] + "_", toolNames);
        if (parsed.ToolCalls.Count > 0 && finish == FinishReasons.Stop)
        {
            finish = FinishReasons.ToolCalls;
        }
        var content = string.IsNullOrEmpty(parsed.Content) && parsed.ToolCalls.Count > 0 ? null : parsed.Content;
        return new EngineChoice(index, content, parsed.Reasoning, parsed.ToolCalls, finish, logprobs);
    }

    private TokenLogprob ToLogprob(GeneratedToken token) => new(
        _tokenizer.Decode([(int)token.TokenId]), (int)token.TokenId, token.Logprob,
        token.TopLogprobs.Select(a => new TopLogprob(_tokenizer.Decode([(int)a.TokenId]), (int)a.TokenId, a.Logprob)).ToList());

    private sealed record Job(EngineRequest Request, int[] Prompt, int MaxTokens, string Prefill, ChannelWriter<EngineDelta>? Stream,
        ToolCallGrammar? Grammar, ToolCallGrammar? GuideGrammar)
    {
        public TaskCompletionSource<EngineResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Requests batch together only when they sample the same way (the generator takes one setting per batch).</summary>
        public (double, double, long?, bool, int) SamplingKey =>
            (Request.Temperature, Request.TopP, Request.Seed, Request.Logprobs, Request.Logprobs ? Request.TopLogprobs : 0);

        public void Fail(Exception e)
        {
            Stream?.TryComplete(e);
            Done.TrySetException(e);
        }
    }

    private sealed class ChoiceState(Job job, int choice)
    {
        public Job Job { get; } = job;
        public int Choice { get; } = choice;
        public List<GeneratedToken> Kept { get; } = [];
        public StreamingTurnSplitter Splitter { get; } = new(job.Request.Stop, job.Request.CallableToolNames);
        public int LogprobsSent { get; set; }
        public bool Stopped { get; set; }
    }
}
