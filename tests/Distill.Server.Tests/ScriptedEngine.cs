using System.Runtime.CompilerServices;
using Distill.Core.Samples;
using Distill.Server.Engine;

namespace Distill.Server.Tests;

/// <summary>
/// A deterministic engine for testing the HTTP layer: it answers "echo: &lt;last user text&gt;", or, when tools are offered
/// and the last turn is the user's, calls the first tool with {"query": "&lt;last user text&gt;"}. Each word is one token.
/// </summary>
public sealed class ScriptedEngine : IChatEngine
{
    public string ModelId => "scripted";
    public int ContextLength => 64;
    public int Concurrent;
    public int MaxConcurrent;

    public int CountPromptTokens(EngineRequest request) =>
        request.Messages.Sum(m => (m.Content ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).Length + 1);

    public async Task<EngineResult> CompleteAsync(EngineRequest request, CancellationToken cancellationToken)
    {
        var now = Interlocked.Increment(ref Concurrent);
        InterlockedMax(ref MaxConcurrent, now);
        try
        {
            await Task.Delay(20, cancellationToken);
            var choices = Enumerable.Range(0, request.N).Select(i => Answer(request, i)).ToList();
            return new EngineResult(choices, new EngineUsage(CountPromptTokens(request), choices.Sum(c => Tokens(c).Count)));
        }
        finally
        {
            Interlocked.Decrement(ref Concurrent);
        }
    }

    public async IAsyncEnumerable<EngineDelta> StreamAsync(EngineRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var choice = Answer(request, 0);
        var tokens = Tokens(choice);
        for (var i = 0; i < tokens.Count && choice.ToolCalls.Count == 0; i++)
        {
            await Task.Yield();
            cancellationToken.ThrowIfCancellationRequested();
            yield return new EngineDelta(0, Content: (i == 0 ? "" : " ") + tokens[i],
                Logprobs: request.Logprobs ? [Logprob(tokens[i], request.TopLogprobs)] : null);
        }
        yield return new EngineDelta(0, ToolCalls: choice.ToolCalls, FinishReason: choice.FinishReason,
            Usage: new EngineUsage(CountPromptTokens(request), tokens.Count));
    }

    private static EngineChoice Answer(EngineRequest request, int index)
    {
        var last = request.Messages[^1];
        var text = last.Content ?? "";
        if (request.ToolNames.Count > 0 && last.Role == ChatRoles.User && request.ToolChoice.Mode != "none")
        {
            var name = request.ToolChoice.FunctionName ?? request.ToolNames[0];
            var call = new ToolCall($"call_{index}", name, $$"""{"query": "{{text}}"}""");
            return new EngineChoice(index, null, null, [call], FinishReasons.ToolCalls, request.Logprobs ? [] : null);
        }
        var words = ("echo: " + text).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
        var finish = FinishReasons.Stop;
        if (request.MaxTokens is { } max && words.Count > max)
        {
            words = words[..max];
            finish = FinishReasons.Length;
        }
        var content = string.Join(' ', words);
        return new EngineChoice(index, content, null, [], finish,
            request.Logprobs ? words.Select(w => Logprob(w, request.TopLogprobs)).ToList() : null);
    }

    private static List<string> Tokens(EngineChoice choice) =>
        (choice.Content ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();

    /// <summary>A token scored -0.25 with id = its length, and alternative k (k &gt; 0) with id 1000 + k.</summary>
    private static TokenLogprob Logprob(string token, int top) => new(token, token.Length, -0.25,
        Enumerable.Range(0, top).Select(k => new TopLogprob(k == 0 ? token : $"{token}#{k}", k == 0 ? token.Length : 1000 + k, -0.25 - k)).ToList());

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
