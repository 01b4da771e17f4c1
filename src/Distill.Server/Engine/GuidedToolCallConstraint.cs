using System.Runtime.InteropServices;
using System.Text;
using Distill.Models.Generation;
using Distill.Models.Tokenization;
using Distill.Server.Constraints;

namespace Distill.Server.Engine;

/// <summary>
/// tool_choice "auto" with guided tool calls: the reply is free text until the model itself opens a tool call
/// (&lt;tool_call&gt;); from there the call follows the tools' grammar (<see cref="ToolCallConstraint"/>), and once it is
/// complete the reply is free again. So the model still decides whether and which tool to call, but a call it starts is always
/// well-formed JSON with arguments valid for the tool's schema. llama.cpp's server does the same with its lazy grammars
/// triggered by the tool-call opener.
/// </summary>
public sealed class GuidedToolCallConstraint : ITokenConstraint
{
    private static readonly byte[] Trigger = Encoding.UTF8.GetBytes(ChatTokens.ToolCallOpen);

    private readonly ToolCallGrammar _grammar;
    private readonly TokenVocabulary _vocabulary;
    private readonly long[] _endIds;
    private readonly int _maxTokens;
    // The bytes written since the last call ended, kept only as long as the trigger can still be found in them.
    private readonly List<byte> _tail = [];
    private int _produced;

    /// <param name="maxTokens">The row's token budget, end-of-turn token included.</param>
    public GuidedToolCallConstraint(ToolCallGrammar grammar, TokenVocabulary vocabulary, IReadOnlyList<long> endIds, int maxTokens)
    {
        _grammar = grammar;
        _vocabulary = vocabulary;
        _endIds = endIds.ToArray();
        _maxTokens = maxTokens;
    }

    /// <summary>The constraint of the tool call being written, or null while the reply is free.</summary>
    public ToolCallConstraint? Call { get; private set; }

    /// <summary>How many tool calls have been guided in this reply.</summary>
    public int GuidedCalls { get; private set; }

    public void FillAllowed(Span<bool> allowed)
    {
        if (Call is { } call)
        {
            call.FillAllowed(allowed);
            return;
        }
        allowed.Fill(true);
    }

    public void Advance(long tokenId)
    {
        _produced++;
        if (Call is { } call)
        {
            call.Advance(tokenId);
            if (call.State.IsComplete) Call = null;
            return;
        }
        var bytes = _vocabulary.BytesWritten(tokenId);
        if (bytes is null) return;
        _tail.AddRange(bytes);
        var at = CollectionsMarshal.AsSpan(_tail).IndexOf(Trigger);
        if (at < 0)
        {
            // Keep only what could be the start of a trigger split over tokens.
            if (_tail.Count >= Trigger.Length) _tail.RemoveRange(0, _tail.Count - (Trigger.Length - 1));
            return;
        }
        var writtenBytes = CollectionsMarshal.AsSpan(_tail)[at..].ToArray();
        var written = Encoding.UTF8.GetString(writtenBytes);
        _tail.Clear();
        var remaining = _maxTokens - _produced;
        // What the model already wrote after the opener must itself start a valid call; if it cannot, the reply stays free
        // (the client sees the malformed call, as it would without guidance).
        if (remaining < 1 || _grammar.Start().Feed(writtenBytes) is null) return;
        Call = new ToolCallConstraint(_grammar, _vocabulary, _endIds, remaining, written);
        GuidedCalls++;
    }
}
