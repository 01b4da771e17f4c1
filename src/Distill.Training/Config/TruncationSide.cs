namespace Distill.Training.Config;

/// <summary>Which end of a conversation longer than <c>data.max_length</c> is kept (<c>data.truncation</c>).</summary>
public enum TruncationSide
{
    /// <summary>"right": cut the end, keep the beginning.</summary>
    Right,

    /// <summary>"left": cut the beginning, keep the end (the final answer and its stored logprobs).</summary>
    Left,
}
