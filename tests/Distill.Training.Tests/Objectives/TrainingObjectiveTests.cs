using Distill.Core.Errors;
using Distill.Models.Llama;
using Distill.Training.Config;
using Distill.Training.Data;
using Distill.Training.Losses;
using Distill.Training.Objectives;
using static TorchSharp.torch;

namespace Distill.Training.Tests.Objectives;

public class TrainingObjectiveTests : TorchTest
{
    [Fact]
    public void Each_loss_kind_says_what_it_needs_before_training_starts()
    {
        var sft = TrainingObjective.For(new LossConfig { Kind = LossKinds.Sft });
        Assert.IsType<SftObjective>(sft);
        Assert.False(sft.NeedsTeacher);
        Assert.Equal(0, sft.StoredTopK);
        Assert.False(sft.HasKdTerm);

        var offline = TrainingObjective.For(new LossConfig { Kind = LossKinds.TopKKd, TopK = 5 });
        Assert.Equal((false, 5, true), (offline.NeedsTeacher, offline.StoredTopK, offline.HasKdTerm));
        var staged = TrainingObjective.For(new LossConfig { Kind = LossKinds.TopKKd, TopK = 5, SparseFraction = 0.5 });
        Assert.Equal((true, 5), (staged.NeedsTeacher, staged.StoredTopK));
        var onlineOnly = TrainingObjective.For(new LossConfig { Kind = LossKinds.TopKKd, TopK = 5, SparseFraction = 0 });
        Assert.Equal((true, 0), (onlineOnly.NeedsTeacher, onlineOnly.StoredTopK));

        var online = TrainingObjective.For(new LossConfig { Kind = LossKinds.OnlineKd });
        Assert.Equal((true, 0, true), (online.NeedsTeacher, online.StoredTopK, online.HasKdTerm));

        var cot = TrainingObjective.For(new LossConfig { Kind = LossKinds.Cot });
        Assert.Equal((false, true), (cot.NeedsTeacher, cot.RationaleTask));

        Assert.True(TrainingObjective.For(new LossConfig { Kind = LossKinds.Sft, HiddenWeight = 0.5 }).NeedsTeacher);
    }

    [Fact]
    public void Every_configurable_kind_has_an_objective_of_its_own()
    {
        // Unknown names never get this far: binding rejects them by key path (TrainConfigBindingTests).
        var objectives = LossKinds.All.Select(kind => TrainingObjective.For(new LossConfig { Kind = kind })).ToList();
        Assert.Equal(LossKinds.All.Count, objectives.Select(o => o.GetType()).Distinct().Count());
        Assert.All(objectives.Zip(LossKinds.All), pair => Assert.Equal(pair.Second, pair.First.Loss.Kind));
    }

    [Fact]
    public void Online_kd_through_the_fused_path_equals_kd_and_ce_on_the_full_logits()
    {
        // The trainer used to build [B, T, V] logits for both models; the objective never does. Same loss, same gradients.
        manual_seed(7);
        using var student = new LlamaForCausalLM(ModelPresets.Get("tiny-test", 64));
        using var teacher = new LlamaForCausalLM(ModelPresets.Get("tiny-test", 64)).Freeze();
        var ids = randint(0, 64, [2, 9]);
        var labels = ids.roll(-1, 1).clone();
        labels[0, 0] = tensor(KdLoss.IgnoreIndex);
        labels[1, TensorIndex.Slice(5)] = tensor(KdLoss.IgnoreIndex);
        var batch = new DeviceBatch(ids, labels, full_like(labels, KdLoss.IgnoreIndex), ones_like(ids), null, null);
        var loss = new LossConfig { Kind = LossKinds.OnlineKd, Divergence = DivergenceName.ReverseKl, Chunks = 3 };
        var step = new ObjectiveStep(0, 10, Alpha: 0.6, Temperature: 2.0);

        var logits = student.forward(new CausalLMInput(ids)).Logits;
        Tensor teacherLogits;
        using (no_grad()) teacherLogits = teacher.forward(new CausalLMInput(ids)).Logits;
        var expected = KdLoss.Combine(KdLoss.FullDistribution(logits, teacherLogits, labels, Divergence.ReverseKl, 2.0), KdLoss.CrossEntropy(logits, labels), 0.6);
        expected.backward();
        var grads = student.parameters().Select(p => p.grad!.clone()).ToList();
        foreach (var p in student.parameters()) p.grad!.zero_();

        var terms = TrainingObjective.For(loss).Compute(new ObjectiveModels(student, teacher), batch, step);
        terms.Total.backward();

        Assert.True(terms.HeadOnLabelledOnly);
        Assert.Equal(Item(expected), Item(terms.Total), tolerance: 1e-5);
        Assert.Equal(Item(KdLoss.CrossEntropy(logits, labels)), Item(terms.Ce), tolerance: 1e-5);
        foreach (var (expectedGrad, p) in grads.Zip(student.parameters()))
            Assert.Equal(0.0, Item(expectedGrad.sub(p.grad!).abs().max()), 5);
    }

    [Fact]
    public void Staged_top_k_kd_reads_stored_logprobs_first_and_runs_the_teacher_only_after_the_switch()
    {
        manual_seed(3);
        using var student = new LlamaForCausalLM(ModelPresets.Get("tiny-test", 32));
        using var teacher = new LlamaForCausalLM(ModelPresets.Get("tiny-test", 32)).Freeze();
        var ids = randint(0, 32, [1, 6]);
        var labels = ids.roll(-1, 1).clone();
        var (topLogprobs, topIds) = teacher.forward(new CausalLMInput(ids)).Logits.detach().log_softmax(-1).topk(4, dim: -1);
        var batch = new DeviceBatch(ids, labels, full_like(labels, KdLoss.IgnoreIndex), ones_like(ids), topIds, topLogprobs);
        var objective = TrainingObjective.For(new LossConfig { Kind = LossKinds.TopKKd, TopK = 4, SparseFraction = 0.5 });

        // Before the switch no teacher is needed: the models carry none, and the loss still computes.
        var sparse = objective.Compute(new ObjectiveModels(student), batch, new ObjectiveStep(0, 4, 0.5, 1.0));
        Assert.True(double.IsFinite(Item(sparse.Total)));
        Assert.Throws<InvalidOperationException>(() => objective.Compute(new ObjectiveModels(student), batch, new ObjectiveStep(2, 4, 0.5, 1.0)));
        var full = objective.Compute(new ObjectiveModels(student, teacher), batch, new ObjectiveStep(2, 4, 0.5, 1.0));
        Assert.True(Item(full.Kd!) > 0);
    }

    [Fact]
    public void Prompt_weight_adds_that_share_of_cross_entropy_on_the_prompt_tokens()
    {
        manual_seed(11);
        using var student = new LlamaForCausalLM(ModelPresets.Get("tiny-test", 40));
        var ids = randint(0, 40, [2, 8]);
        var next = ids.roll(-1, 1).clone();
        // Positions 0-3 predict prompt text, 4-7 assistant output.
        var assistant = zeros([2, 8], ScalarType.Bool);
        assistant[TensorIndex.Colon, TensorIndex.Slice(4)] = tensor(true);
        var ignore = full_like(next, KdLoss.IgnoreIndex);
        var labels = where(assistant, next, ignore);
        var promptLabels = where(assistant, ignore, next);
        var batch = new DeviceBatch(ids, labels, ignore, ones_like(ids), null, null, promptLabels);
        var step = new ObjectiveStep(0, 10, Alpha: 0.5, Temperature: 1.0);
        var logits = student.forward(new CausalLMInput(ids)).Logits;

        var plain = TrainingObjective.For(new LossConfig { Kind = LossKinds.Sft }).Compute(new ObjectiveModels(student), batch, step);
        var weighted = TrainingObjective.For(new LossConfig { Kind = LossKinds.Sft, PromptWeight = 0.25 }).Compute(new ObjectiveModels(student), batch, step);

        Assert.Null(plain.Prompt);
        var promptCe = Item(KdLoss.CrossEntropy(logits, promptLabels));
        Assert.Equal(promptCe, Item(weighted.Prompt!), tolerance: 1e-5);
        Assert.Equal(Item(KdLoss.CrossEntropy(logits, labels)) + 0.25 * promptCe, Item(weighted.Total), tolerance: 1e-5);
        Assert.Equal(Item(plain.Ce), Item(weighted.Ce), tolerance: 1e-6); // the logged CE stays the assistant tokens' own
        Assert.False(weighted.HeadOnLabelledOnly);
    }
}
