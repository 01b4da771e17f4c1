using static TorchSharp.torch;

namespace Distill.Models.Llama;

/// <summary>Input of <see cref="LlamaForCausalLM"/>.</summary>
/// <param name="InputIds">int64 [B, S].</param>
/// <param name="AttentionMask">[B, past + S], 1 = token, 0 = padding (HF convention: covers cached tokens too). Null = no padding.</param>
/// <param name="PositionIds">int64 [B, S]; null = past .. past + S - 1 for every row. Left-padded batches pass cumsum(mask) - 1.</param>
/// <param name="Cache">KV cache, appended to in place; null = no cache.</param>
/// <param name="OutputHiddenStates">indices of hidden states to return (0 = embeddings, i = after layer i, last = after final norm).</param>
/// <param name="LastTokenLogitsOnly">compute logits for the last position only ([B, 1, V]): generation needs no more.</param>
public sealed record CausalLMInput(
    Tensor InputIds,
    Tensor? AttentionMask = null,
    Tensor? PositionIds = null,
    KvCache? Cache = null,
    IReadOnlyList<int>? OutputHiddenStates = null,
    bool LastTokenLogitsOnly = false);

/// <summary>Output of <see cref="LlamaForCausalLM"/>.</summary>
/// <param name="Logits">[B, S, V] (or [B, 1, V]) in the model's dtype.</param>
/// <param name="HiddenStates">the requested hidden states, [B, S, hidden] each.</param>
/// <param name="Cache">the input cache, now including this step (same instance).</param>
public sealed record CausalLMOutput(Tensor Logits, IReadOnlyDictionary<int, Tensor>? HiddenStates, KvCache? Cache);
