using Distill.Models.Llama;
using Distill.Training.Losses;
using static TorchSharp.torch;

namespace Distill.Training.Objectives;

/// <summary>The models an objective scores a batch with.</summary>
/// <param name="Student">The model being trained.</param>
/// <param name="Teacher">The frozen local teacher, when the objective (or the hidden-state term) needs one.</param>
/// <param name="Projector">Maps student hidden states to the teacher's for the hidden-state term; null: no such term.</param>
/// <param name="SharedVocab">KD compares the first this-many logits of both heads (one tokenizer, padded vocabularies);
/// null: the student's vocabulary.</param>
public sealed record ObjectiveModels(LlamaForCausalLM Student, LlamaForCausalLM? Teacher = null, HiddenStateProjector? Projector = null,
    int? SharedVocab = null);

/// <summary>Where a step is in the run, and the scheduled weights of its loss.</summary>
/// <param name="Step">0-based optimizer step.</param>
/// <param name="TotalSteps">Steps in the run (staged objectives switch at a share of it).</param>
/// <param name="Alpha">Weight of the KD term: <c>alpha * kd + (1 - alpha) * ce</c>.</param>
/// <param name="Temperature">KD temperature T; the KD term carries T^2.</param>
public readonly record struct ObjectiveStep(long Step, long TotalSteps, double Alpha, double Temperature);

/// <summary>One batch's loss.</summary>
/// <param name="Total">Scalar to backpropagate (attached to the graph).</param>
/// <param name="Ce">Cross-entropy on the labels, for logging.</param>
/// <param name="Kd">The distillation term, for logging; null when the objective has none.</param>
/// <param name="Hidden">The hidden-state term, for logging; null when off.</param>
/// <param name="HeadOnLabelledOnly">True when only labelled positions went through the student's lm_head (the fused head
/// losses): MFU then counts head FLOPs for those positions only.</param>
/// <param name="Prompt">Cross-entropy on the prompt tokens, for logging; null unless <c>loss.prompt_weight</c> &gt; 0.</param>
public sealed record ObjectiveLoss(Tensor Total, Tensor Ce, Tensor? Kd, Tensor? Hidden, bool HeadOnLabelledOnly, Tensor? Prompt = null);
