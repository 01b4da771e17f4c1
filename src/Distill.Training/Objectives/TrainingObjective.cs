using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Objectives;

/// <summary>
/// What one <c>loss.kind</c> trains with (torchtune's loss built once from config): what it needs before training starts
/// (a local teacher, stored top-k logprobs in the data, the rationale task) and its loss on a batch. Chosen once by
/// <see cref="For"/>; <c>distill train</c> and <c>distill bench train</c> call the same objects.
/// <para>The optional hidden-state term (<c>loss.hidden_weight</c> &gt; 0 with a teacher) and the prompt-token term
/// (<c>loss.prompt_weight</c> &gt; 0) are added here for every kind, so each objective only scores the head.</para>
/// </summary>
public abstract class TrainingObjective
{
    private protected TrainingObjective(LossConfig loss) => Loss = loss;

    /// <summary>The loss settings the objective was built from.</summary>
    public LossConfig Loss { get; }

    /// <summary>The objective of <paramref name="loss"/>'s kind.</summary>
    public static TrainingObjective For(LossConfig loss) => loss.Kind switch
    {
        LossKinds.Sft => new SftObjective(loss),
        LossKinds.TopKKd => new TopKKdObjective(loss),
        LossKinds.OnlineKd => new OnlineKdObjective(loss),
        LossKinds.Cot => new StepByStepObjective(loss),
        _ => throw new DistillException($"loss.kind '{loss.Kind}' is unknown", $"use one of {string.Join(", ", LossKinds.All)}"),
    };

    /// <summary>Whether some step runs a local teacher: for the objective's own KD, or for the hidden-state term.</summary>
    public bool NeedsTeacher => TeacherForKd || Loss.HiddenWeight > 0;

    /// <summary>Whether the objective's own KD term runs a local teacher on some step.</summary>
    private protected virtual bool TeacherForKd => false;

    /// <summary>Stored teacher alternatives per position the data must carry (0: the objective reads no stored logprobs).</summary>
    public virtual int StoredTopK => 0;

    /// <summary>Whether samples are also encoded as the rationale task (distilling step-by-step).</summary>
    public virtual bool RationaleTask => false;

    /// <summary>Whether the loss has a KD term (the trainer then logs kd, alpha and temperature).</summary>
    public virtual bool HasKdTerm => false;

    /// <summary>
    /// The loss on one batch: the student's forward (and the teacher's, under no_grad, when this step needs it), the head loss of
    /// the kind, and the hidden-state term when <see cref="ObjectiveModels.Projector"/> is set. Labels are already shifted:
    /// position t predicts labels[:, t].
    /// </summary>
    public ObjectiveLoss Compute(ObjectiveModels models, DeviceBatch batch, ObjectiveStep step)
    {
        var projector = models.Projector;
        var (studentHidden, studentStates) = models.Student.model.forward(new CausalLMInput(batch.InputIds, OutputHiddenStates: AllStates(models.Student, projector)));
        Tensor? teacherHidden = null;
        IReadOnlyDictionary<int, Tensor>? teacherStates = null;
        if (projector is not null || TeacherAt(step))
        {
            var teacher = models.Teacher ?? throw new InvalidOperationException($"loss {Loss.Kind} needs the teacher model at step {step.Step}");
            using var noGrad = no_grad();
            (teacherHidden, teacherStates) = teacher.model.forward(new CausalLMInput(batch.InputIds, OutputHiddenStates: AllStates(teacher, projector)));
        }
        var head = WithPromptTerm(Score(models, studentHidden, teacherHidden, batch, step), models.Student, studentHidden, batch);
        if (projector is null) return head;

        var ss = studentStates!.OrderBy(h => h.Key).Select(h => h.Value).ToList();
        var ts = teacherStates!.OrderBy(h => h.Key).Select(h => h.Value).ToList();
        var hidden = projector.Loss(ss, ts, batch.AttentionMask);
        using var hiddenWeight = Loss.HiddenWeight.ToScalar();
        return head with { Total = head.Total.add(hidden.mul(hiddenWeight), One), Hidden = hidden }; // explicit alpha: see Scalars
    }

    /// <summary>
    /// Adds <c>prompt_weight</c> times the cross-entropy on the prompt tokens: system, user and tool-result text the student reads
    /// but never writes. Tool results repeat ids from the turn before, so they add copy examples to a small student's diet.
    /// </summary>
    private ObjectiveLoss WithPromptTerm(ObjectiveLoss head, LlamaForCausalLM student, Tensor studentHidden, DeviceBatch batch)
    {
        if (Loss.PromptWeight <= 0) return head;
        var labels = batch.PromptLabels ?? throw new InvalidOperationException("loss.prompt_weight > 0 needs batches encoded with prompt labels");
        var prompt = KdLoss.LinearCrossEntropy(studentHidden, student.OutputEmbedding, labels);
        using var weight = Loss.PromptWeight.ToScalar();
        return head with { Total = head.Total.add(prompt.mul(weight), One), Prompt = prompt, HeadOnLabelledOnly = false };
    }

    /// <summary>Whether the objective's own term needs the teacher's hidden states at <paramref name="step"/>.</summary>
    private protected virtual bool TeacherAt(ObjectiveStep step) => false;

    /// <summary>The head loss from the student's final hidden states (and the teacher's, when <see cref="TeacherAt"/>).</summary>
    private protected abstract ObjectiveLoss Score(ObjectiveModels models, Tensor studentHidden, Tensor? teacherHidden, DeviceBatch batch,
        ObjectiveStep step);

    private static List<int>? AllStates(LlamaForCausalLM model, object? projector) =>
        projector is null ? null : Enumerable.Range(0, model.Config.NumHiddenLayers + 1).ToList();
}
