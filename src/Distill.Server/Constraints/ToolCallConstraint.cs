using System.Diagnostics;
using System.Text;
using Distill.Models.Generation;

namespace Distill.Server.Constraints;

/// <summary>
/// Constrains one generated row to a tool call of a <see cref="ToolCallGrammar"/>, then to the end of the turn.
/// <para>Budget: with R tokens left (the row's max_tokens minus what it produced), a token is allowed only if the grammar can
/// still be finished, one byte per token, before the end-of-turn token: bytes-to-finish(after it) + 1 &lt;= R - 1. Every byte
/// is a token in byte-level BPE, so a row given max_tokens of at least the shortest tool call + 1 always ends with a complete
/// call, whatever the weights; with less, it runs out and the engine reports finish_reason "length".</para>
/// </summary>
public sealed class ToolCallConstraint : ITokenConstraint
{
    private readonly TokenVocabulary _vocabulary;
    private readonly long[] _endIds;
    private readonly int _maxTokens;
    private int _produced;
    private bool _ended;

    /// <param name="endIds">What may follow the complete call: the end-of-turn token (&lt;|im_end|&gt;).</param>
    /// <param name="maxTokens">The row's token budget, end-of-turn token included.</param>
    /// <param name="prefill">Text of the call already in the prompt (e.g. "&lt;tool_call&gt;\n"); the grammar starts after it.</param>
    public ToolCallConstraint(ToolCallGrammar grammar, TokenVocabulary vocabulary, IReadOnlyList<long> endIds, int maxTokens, string prefill = "")
    {
        if (endIds.Count == 0)
        {
            throw new ArgumentException("a constrained row needs an end-of-turn token", nameof(endIds));
        }
        _vocabulary = vocabulary;
        _endIds = endIds.ToArray();
        _maxTokens = maxTokens;
        State = grammar.Start().Feed(Encoding.UTF8.GetBytes(prefill))
            ?? throw new ArgumentException($"the prefill '{prefill}' is not the start of a call of this grammar", nameof(prefill));
    }

    public GrammarState State { get; private set; }

    /// <summary>Time spent computing allowed tokens, over all steps (for measurements).</summary>
    public TimeSpan MaskTime { get; private set; }

    public int Steps { get; private set; }

    /// <summary>Accept plain tokens inside strings in bulk (see <see cref="TokenVocabulary"/>); off only to test that it changes nothing.</summary>
    internal bool BulkPlainTokens { get; init; } = true;

    public void FillAllowed(Span<bool> allowed)
    {
        var started = Stopwatch.GetTimestamp();
        Steps++;
        if (State.IsComplete || _ended)
        {
            AllowEnd(allowed);
        }
        else
        {
            var afterThis = _maxTokens - _produced - 1; // tokens left once this one is written
            if (Fill(allowed, afterThis) == 0 && Fill(allowed, budget: null) == 0)
            {
                AllowEnd(allowed); // the tokenizer cannot write what the grammar needs: end the turn rather than write garbage
            }
        }
        MaskTime += Stopwatch.GetElapsedTime(started);
    }

    public void Advance(long tokenId)
    {
        _produced++;
        if (_ended || _endIds.Contains(tokenId))
        {
            _ended = true;
            return;
        }
        var bytes = _vocabulary.BytesWritten(tokenId);
        var next = bytes is null ? null : State.Feed(bytes);
        if (next is null)
        {
            // Only reachable if the sampler ignored the mask; stop constraining this row by ending it.
            _ended = true;
            return;
        }
        State = next;
    }

    private int Fill(Span<bool> allowed, int? budget)
    {
        allowed.Clear();
        var count = 0;
        var flags = allowed.Length;
        var buffer = new List<int>();
        void Allow(int id, GrammarState next)
        {
            if (budget is not { } b || next.MinRemaining + 1 <= b)
            {
                buffer.Add(id);
            }
        }
        if (BulkPlainTokens && State.PlainString is { } text)
        {
            // Inside a string every plain token fits up to the string's capacity; only the string frame's cost changes.
            var below = State.MinRemaining - text.MinRemaining;
            var capacity = text.Capacity;
            for (var i = 0; i < _vocabulary.PlainIds.Length && _vocabulary.PlainChars[i] <= capacity; i++)
            {
                if (budget is not { } b || below + text.MinRemainingAfter(_vocabulary.PlainChars[i]) + 1 <= b)
                {
                    buffer.Add(_vocabulary.PlainIds[i]);
                }
            }
            _vocabulary.ForEachAccepted(State, Allow, skipPlain: true);
        }
        else
        {
            _vocabulary.ForEachAccepted(State, Allow);
        }
        if (State.InLiteral)
        {
            foreach (var (id, bytes) in _vocabulary.Markers)
            {
                if (State.Feed(bytes) is { } next)
                {
                    Allow(id, next);
                }
            }
        }
        foreach (var id in buffer)
        {
            if (id < flags)
            {
                allowed[id] = true;
                count++;
            }
        }
        return count;
    }

    private void AllowEnd(Span<bool> allowed)
    {
        allowed.Clear();
        foreach (var id in _endIds)
        {
            if (id < allowed.Length)
            {
                allowed[(int)id] = true;
            }
        }
    }
}
