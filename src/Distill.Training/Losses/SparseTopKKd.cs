using TorchSharp;
using static TorchSharp.torch;

namespace Distill.Training.Losses;

/// <summary>How sparse top-k KD treats the teacher probability mass outside the stored top-k ids.</summary>
public enum TailMode
{
    /// <summary>
    /// Default. The vocabulary is partitioned into the k stored ids plus one "rest" bucket. The teacher puts p_i on id i and
    /// 1 - m on the rest (m = sum of the stored probabilities); the student puts q_i on id i and 1 - sum_i q_i on the rest
    /// (computed as a logsumexp over the other ids, so it is exact and stable). The loss is the KL between these two
    /// distributions over k + 1 outcomes: a proper divergence, 0 iff the student matches the teacher on the stored ids and
    /// on the total tail mass, and equal to the full forward KL when the stored ids cover the whole vocabulary.
    /// </summary>
    RestBucket,
    /// <summary>
    /// Both distributions restricted to the stored ids and renormalized there: KL(p / m || q_k / sum q_k). Ignores how much
    /// mass the student puts outside the top-k, so it only shapes the relative order among the stored ids.
    /// </summary>
    Renormalize,
}

public static partial class KdLoss
{
    /// <summary>
    /// Sparse forward-KL distillation from stored teacher top-k log-probabilities (offline teacher, e.g. an OpenAI-style API's
    /// top_logprobs or vLLM's logprobs), which requires the teacher to share the student's tokenizer.
    /// <para>Tail mass: the stored probabilities sum to m &lt;= 1; see <see cref="TailMode"/> (the rest bucket by default).</para>
    /// <para>Temperature: the stored log-probabilities were produced at T = 1 and the teacher's tail is unknown, so the teacher cannot
    /// be re-tempered exactly; T divides the student's logits only, and the result is multiplied by T^2 like every KD loss here so
    /// switching between sparse and full-distribution KD at the same T keeps the same scale. T = 1 (the default) is the recommended
    /// setting: then the objective is exactly KL between the teacher and the student as the teacher was sampled.</para>
    /// <para>Ids are assumed distinct within a position. Positions whose label is <paramref name="ignoreIndex"/> or that have no
    /// valid id are skipped; all skipped gives 0 (attached to the graph).</para>
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V], any float dtype; upcast to float32.</param>
    /// <param name="teacherTopKIds">[B, T, K] or [N, K] int64 token ids; -1 (any negative id) marks a missing entry.</param>
    /// <param name="teacherTopKLogprobs">[B, T, K] or [N, K] teacher log-probabilities at T = 1 for those ids; ignored where the id is missing.</param>
    /// <param name="labels">[B, T] or [N] int64; only used as the mask.</param>
    /// <param name="temperature">T &gt; 0 applied to the student only; result times T^2.</param>
    /// <param name="tail">How the mass outside the top-k is treated.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor: mean over kept positions of the per-position KL.</returns>
    public static Tensor SparseTopK(Tensor studentLogits, Tensor teacherTopKIds, Tensor teacherTopKLogprobs, Tensor labels,
        double temperature = 1.0, TailMode tail = TailMode.RestBucket, long ignoreIndex = IgnoreIndex)
    {
        LossMath.CheckTemperature(temperature);
        LossMath.CheckSameShape(teacherTopKIds, teacherTopKLogprobs, nameof(teacherTopKIds), nameof(teacherTopKLogprobs));
        var (student, flatLabels) = LossMath.Flatten(studentLogits, labels, nameof(studentLogits));
        var n = student.shape[0];
        var v = student.shape[1];
        var k = teacherTopKIds.shape[^1];
        if (teacherTopKIds.numel() != n * k)
            throw new ArgumentException($"teacher top-k [{string.Join(", ", teacherTopKIds.shape)}] must have one row of K ids per student position ({n})",
                nameof(teacherTopKIds));
        if (k > v)
            throw new ArgumentException($"K = {k} ids per position exceeds the vocabulary size {v}", nameof(teacherTopKIds));

        var ids = teacherTopKIds.detach().reshape(n, k).to_type(ScalarType.Int64);
        var valid = ids.ge(0);
        var invalid = valid.logical_not();
        var safeIds = ids.masked_fill(invalid, 0);
        var teacherLogP = teacherTopKLogprobs.detach().reshape(n, k).to_type(ScalarType.Float32).masked_fill(invalid, 0.0);
        var p = teacherLogP.exp().masked_fill(invalid, 0.0);                          // [N, K]

        var logq = LossMath.LogProbs(student, temperature);                           // [N, V]
        var logqK = logq.gather(-1, safeIds).masked_fill(invalid, 0.0);               // [N, K]

        var validCount = valid.sum(-1);                                               // [N]
        var keep = flatLabels.ne(ignoreIndex).logical_and(validCount.gt(0));

        // Rows that are skipped get finite stand-ins wherever -inf would appear, so their zero gradient never meets a NaN.
        var dropRow = keep.logical_not().unsqueeze(-1);                               // [N, 1]
        var missing = invalid.logical_and(dropRow.logical_not());                     // missing ids of kept rows
        Tensor perToken;
        if (tail == TailMode.RestBucket)
        {
            // sum_i p_i (log p_i - log q_i) over the stored ids ...
            var head = LossMath.Kl(teacherLogP.masked_fill(missing, float.NegativeInfinity), logqK);
            // ... + (1 - m) (log(1 - m) - log(1 - sum_i q_i)) for the rest bucket.
            var restP = p.sum(-1).neg().add(1).clamp_min(0);                          // [N]
            // When the stored ids cover the vocabulary there is no rest bucket (1 - m is float rounding there, and log 0 = -inf).
            var noRest = validCount.ge(v).logical_or(restP.eq(0)).logical_or(keep.logical_not());
            var inTopK = zeros([n, v], ScalarType.Float32, student.device)
                .scatter_add(-1, safeIds, valid.to_type(ScalarType.Float32)).gt(0)
                .logical_and(noRest.logical_not().unsqueeze(-1));
            var logRestQ = logq.masked_fill(inTopK, float.NegativeInfinity).logsumexp(-1, false); // log of the student's mass elsewhere
            var restTerm = restP.mul(restP.masked_fill(noRest, 1).log().sub(logRestQ.masked_fill(noRest, 0))).masked_fill(noRest, 0.0);
            perToken = head.add(restTerm);
        }
        else
        {
            var logPn = teacherLogP.masked_fill(missing, float.NegativeInfinity).log_softmax(-1);
            var logQn = logqK.masked_fill(missing, float.NegativeInfinity).log_softmax(-1);
            perToken = LossMath.Kl(logPn, logQn);
        }
        return LossMath.MaskedMean(perToken, keep).mul(temperature * temperature);
    }
}

public static partial class KdLoss
{
    /// <summary>
    /// Sparse top-k KD compares token ids, so the stored logprobs must come from a teacher with the student's tokenizer.
    /// Throws a <see cref="Core.Errors.DistillException"/> naming both tokenizers when they differ or the dataset did not record one.
    /// </summary>
    /// <param name="teacherTokenizer">The tokenizer id recorded in the dataset's teacher lineage (null when unknown).</param>
    /// <param name="studentTokenizer">The student's tokenizer id.</param>
    public static void RequireSameTokenizer(string? teacherTokenizer, string studentTokenizer)
    {
        if (string.IsNullOrWhiteSpace(teacherTokenizer))
            throw new Core.Errors.DistillException(
                "the dataset does not record the teacher's tokenizer, so its top-k logprobs cannot be matched to the student's token ids",
                "train with sequence-level KD only (no sparse KD stage), or regenerate the dataset with a teacher whose tokenizer is known");
        if (!string.Equals(teacherTokenizer, studentTokenizer, StringComparison.Ordinal))
            throw new Core.Errors.DistillException(
                $"the teacher's tokenizer ({teacherTokenizer}) differs from the student's ({studentTokenizer}): top-k logprobs refer to other token ids",
                "use sequence-level KD / CoT distillation for this dataset, or a teacher that shares the student's tokenizer");
    }
}
