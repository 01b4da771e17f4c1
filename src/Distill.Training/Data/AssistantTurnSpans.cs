namespace Distill.Training.Data;

/// <summary>The tokens of one assistant turn in a rendered conversation: indices <see cref="Start"/> to <see cref="End"/>, inclusive.</summary>
public readonly record struct TurnSpan(int Start, int End)
{
    public int Length => End - Start + 1;
}

/// <summary>
/// Where each assistant turn's tokens are. The chat template renders every assistant message as one assistant segment (its
/// output and closing &lt;|im_end|&gt;) between prompt text (the "&lt;|im_start|&gt;assistant\n" before it at least), so the k-th
/// maximal run of true in the assistant mask is the k-th assistant message's tokens.
/// </summary>
public static class AssistantTurnSpans
{
    /// <summary>The maximal runs of true in <paramref name="assistantMask"/>, in order.</summary>
    public static IReadOnlyList<TurnSpan> Of(IReadOnlyList<bool> assistantMask)
    {
        var spans = new List<TurnSpan>();
        for (var i = 0; i < assistantMask.Count; i++)
        {
            if (!assistantMask[i]) continue;
            var start = i;
            while (i + 1 < assistantMask.Count && assistantMask[i + 1]) i++;
            spans.Add(new TurnSpan(start, i));
        }
        return spans;
    }
}
