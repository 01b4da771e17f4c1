using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Distill.Core.Samples;
using Distill.Models.Chat;
using Distill.Models.Generation;
using Distill.Models.Llama;
using Distill.Models.Performance;
using Distill.Models.Tokenization;
using Distill.Server.Constraints;

namespace Distill.Server.Engine;

/// <summary>
/// Serves a TorchSharp Llama-family model. Requests go into a queue; a scheduler loop decodes them in a continuous batch
/// (<see cref="ContinuousDecoder"/>, up to the batch size in rows: a request with n = 4 is four rows): a request joins as soon
/// as rows are free and is answered as soon as its rows finish, so concurrent clients share forward passes without waiting
/// for the longest reply. Requests batch when their temperature, top_p and logprobs settings match; each keeps its own seed.
/// There is one loop per replica of the model, all reading the one queue, and each replica is
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

    /// <summary>Continuous batches decoded so far and the rows each took in: lets tests and benchmarks see that requests were batched.</summary>
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

    /// <summary>
    /// One replica's loop: a continuous batch (<see cref="ContinuousDecoder"/>) that queued jobs join whenever rows are free and
    /// leave as soon as they finish. A job that samples differently (another temperature, top_p or logprobs setting) closes the
    /// batch to newcomers, so it waits only for the batch to drain, and then starts the next one.
    /// </summary>
    private async Task RunSchedulerAsync(LlamaForCausalLM replica)
    {
        var reader = _queue.Reader;
        using var prefixes = new PrefixCache();
        Job? waiting = null;
        while (waiting is not null || await reader.WaitToReadAsync())
        {
            if (waiting is null && !reader.TryRead(out waiting)) continue;
            if (waiting.Done.Task.IsCompleted)
            {
                waiting = null; // cancelled while queued
                continue;
            }
            var first = waiting.Request;
            var key = waiting.SamplingKey;
            var admitted = new List<Job>();
            var closed = false;
            int batch;
            lock (BatchSizes)
            {
                batch = BatchSizes.Count;
                BatchSizes.Add(0);
            }
            IReadOnlyList<DecodeGroup> Admit(int freeRows)
            {
                var groups = new List<DecodeGroup>();
                var empty = freeRows >= _maxBatchRows;
                while (!closed && (waiting is not null || reader.TryRead(out waiting)))
                {
                    var job = waiting;
                    if (job.Done.Task.IsCompleted)
                    {
                        waiting = null;
                        continue;
                    }
                    if (job.SamplingKey != key)
                    {
                        closed = true;
                        break;
                    }
                    // A job wider than the batch decodes alone; otherwise it waits for enough rows to free up.
                    if (job.Request.N > freeRows && !(empty && groups.Count == 0)) break;
                    waiting = null;
                    freeRows -= job.Request.N;
                    admitted.Add(job);
                    groups.Add(Group(job));
                    lock (BatchSizes)
                    {
                        BatchSizes[batch] += job.Request.N;
                    }
                }
                return groups;
            }

            var options = new GenerationOptions
            {
                Temperature = first.Temperature,
                TopP = first.TopP,
                StopTokenIds = _stopTokenIds,
                TopLogprobs = first.Logprobs ? first.TopLogprobs : 0,
                PadTokenId = _tokenizer.PadId ?? _stopTokenIds.FirstOrDefault(),
            };
            try
            {
                // With a copy of the model per core, each loop keeps to one thread (see DecodeThreads); Run is synchronous,
                // so the setting stays on this OS thread for the whole batch.
                using (_replicas.Count > 1 ? DecodeThreads.OneThreadThroughout() : default)
                    ContinuousDecoder.Run(replica, options, _maxBatchRows, Admit, prefixes: prefixes);
            }
            catch (Exception e)
            {
                foreach (var job in admitted)
                {
                    job.Fail(e); // jobs already answered keep their answers
                }
            }
        }
    }

    /// <summary>A job's rows for the decoder (n copies of its prompt), each with its constraint, streaming to the job's choices.</summary>
    private DecodeGroup Group(Job job)
    {
        var states = Enumerable.Range(0, job.Request.N).Select(choice => new ChoiceState(job, choice)).ToArray();
        var constraints = job.Grammar is null && job.GuideGrammar is null
            ? null
            : states.Select(_ => job switch
            {
                { Grammar: { } grammar } => new ToolCallConstraint(grammar, _vocabulary.Value, _endOfTurnIds, job.MaxTokens, job.Prefill),
                { GuideGrammar: { } guide } => (ITokenConstraint?)new GuidedToolCallConstraint(guide, _vocabulary.Value, _endOfTurnIds, job.MaxTokens),
                _ => null,
            }).ToList();
        var prompt = job.Prompt.Select(t => (long)t).ToList();
        return new DecodeGroup(states.Select(_ => (IReadOnlyList<long>)prompt).ToList(), job.MaxTokens,
            job.Request.Seed is { } seed ? unchecked((ulong)seed) : null, constraints,
            onToken: (row, token) => OnToken(states[row], token),
            onDone: results => Complete(job, states, results));
    }

    /// <summary>Answers a job whose rows have all finished (and ends its stream).</summary>
    private void Complete(Job job, ChoiceState[] states, IReadOnlyList<GenerationResult> results)
    {
        var choices = states.Select((state, i) => Finish(state, results[i])).ToList();
        var usage = new EngineUsage(job.Prompt.Length, states.Sum(s => s.Kept.Count));
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

    private void OnToken(ChoiceState state, GeneratedToken token)
    {
        if (state.Stopped) // the decoder ends a row at its max_tokens itself
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

        /// <summary>
        /// Requests batch together only when they sample the same way (the generator takes one temperature and top_p per batch).
        /// The seed is not part of it: each request draws from its own generator. Greedy requests all batch together (top_p
        /// does not change an argmax).
        /// </summary>
        public (double, double, bool, int) SamplingKey =>
            (Math.Max(0, Request.Temperature), Request.Temperature <= 0 ? 1 : Request.TopP, Request.Logprobs, Request.Logprobs ? Request.TopLogprobs : 0);

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
