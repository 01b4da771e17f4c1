namespace Distill.Models.Chat;

/// <summary>
/// A rendered conversation as token ids, with <see cref="AssistantMask"/>[i] true where token i is assistant output:
/// the only positions a trainer puts labels on.
/// </summary>
public sealed record TokenizedChat(int[] Ids, bool[] AssistantMask)
{
    /// <summary>PyTorch / Hugging Face's "ignore this position" label value.</summary>
    public const int IgnoreLabel = -100;

    /// <summary>
    /// Labels aligned with <see cref="Ids"/> (not shifted): the id on assistant tokens, <see cref="IgnoreLabel"/> elsewhere.
    /// The causal-LM loss shifts them by one, as Hugging Face does.
    /// </summary>
    public int[] Labels()
    {
        var labels = new int[Ids.Length];
        for (var i = 0; i < Ids.Length; i++)
        {
            labels[i] = AssistantMask[i] ? Ids[i] : IgnoreLabel;
        }
        return labels;
    }
}
