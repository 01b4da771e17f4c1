using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

/// <summary>How sparse top-k KD treats the teacher probability mass outside the stored top-k ids.</summary>
public enum TailMode
{
    /// <summary>
    /// Default. The vocabulary is partitioned into the k stored ids plus one "rest" bucket. The teacher puts p_i on id i and
    /// 1 - m on the rest (m = sum of the stored probabilities); the student puts q_i on id i and 1 - sum_i q_i on the rest
    /// (from the gathered probabilities in float64, or as a logsumexp over the other ids when the
    /// student's rest is below 1e-2, so it stays accurate where 1 - sum cancels). The loss is the KL between these two
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

internal static partial class KdLoss
{
    /// <summary>
    /// Sparse forward-KL distillation from stored teacher top-k log-probabilities (offline teacher, e.g. an OpenAI-style API's
    /// top_logprobs or vLLM's logprobs), which requires the teacher to share the student's tokenizer.
    /// <para>Tail mass: the stored probabilities sum to m &lt;= 1; see <see cref="TailMode"/> (the rest bucket by default).
    /// The student's rest mass is computed from its K gathered probabilities, without a pass over the vocabulary, except on
    /// rows where it is below 1e-2 (see <see cref="TailMode.RestBucket"/>).</para>
    /// <para>Temperature: the teacher's log-probabilities must already describe temperature T (the data path brings stored ones
    /// there, <see cref="Data.StoredLogprobRescale"/>); T divides the student's logits, and the result is multiplied by T^2 like
    /// every KD loss here so switching between sparse and full-distribution KD at the same T keeps the same scale.</para>
    /// <para>Ids are assumed distinct within a position. Positions whose label is <paramref name="ignoreIndex"/> or that have no
    /// valid id are skipped; all skipped gives 0 (attached to the graph).</para>
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V], any float dtype; upcast to float32.</param>
    /// <param name="teacherTopKIds">[B, T, K] or [N, K] int64 token ids; -1 (any negative id) marks a missing entry.</param>
    /// <param name="teacherTopKLogprobs">[B, T, K] or [N, K] teacher log-probabilities at temperature T for those ids; ignored where the id is missing.</param>
    /// <param name="labels">[B, T] or [N] int64; only used as the mask.</param>
    /// <param name="temperature">T &gt; 0 applied to the student only; result times T^2.</param>
    /// <param name="tail">How the mass outside the top-k is treated.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor: mean over kept positions of the per-position KL.</returns>
    public static Tensor SparseTopK(Tensor studentLogits, Tensor teacherTopKIds, Tensor teacherTopKLogprobs, Tensor labels,
        double temperature = 1.0, TailMode tail = TailMode.RestBucket, long ignoreIndex = IgnoreIndex)
    {
        LossMath.CheckTemperature(temperature);
        var (student, flatLabels) = LossMath.Flatten(studentLogits, labels, nameof(studentLogits));
        var targets = SparseTargets.Create(teacherTopKIds, teacherTopKLogprobs, student.shape[0], student.shape[1]);
        var logq = LossMath.LogProbs(student, temperature);                           // [N, V]
        var (perToken, keep) = SparseTopKPerToken(logq, logq.gather(-1, targets.SafeIds), targets, flatLabels, tail, ignoreIndex);
        using var temperatureSquared = (temperature * temperature).ToScalar();
        return LossMath.MaskedMean(perToken, keep).mul(temperatureSquared);
    }

    /// <summary>The terms of sparse top-k KD mixed with cross-entropy; Kd and Ce are detached copies for logging.</summary>
    public sealed record KdAndCe(Tensor Total, Tensor Kd, Tensor Ce);

    /// <summary>
    /// <c>alpha * SparseTopK(...) + (1 - alpha) * CrossEntropy(...)</c> on the same logits, with one log_softmax shared by both
    /// terms (at temperature 1; at another temperature the KD term needs its own) and one gather for the stored ids and the
    /// label together. Same value and gradients as <see cref="Combine"/> of the two separate losses, for about the cost of
    /// cross-entropy alone.
    /// </summary>
    /// <param name="studentLogits">[B, T, V] or [N, V], any float dtype; upcast to float32.</param>
    /// <param name="teacherTopKIds">[B, T, K] or [N, K] int64; negative = missing.</param>
    /// <param name="teacherTopKLogprobs">[B, T, K] or [N, K] teacher log-probabilities at temperature T.</param>
    /// <param name="labels">[B, T] or [N] int64 targets of the CE term and the mask of both.</param>
    /// <param name="alpha">Weight of the KD term, in [0, 1].</param>
    /// <param name="temperature">T &gt; 0 for the KD term only (see <see cref="SparseTopK"/>); the KD term carries T^2.</param>
    /// <param name="tail">How the mass outside the top-k is treated.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    public static KdAndCe SparseTopKWithCe(Tensor studentLogits, Tensor teacherTopKIds, Tensor teacherTopKLogprobs, Tensor labels,
        double alpha, double temperature = 1.0, TailMode tail = TailMode.RestBucket, long ignoreIndex = IgnoreIndex)
    {
        LossMath.CheckTemperature(temperature);
        CheckAlpha(alpha);
        var (student, flatLabels) = LossMath.Flatten(studentLogits, labels, nameof(studentLogits));
        var targets = SparseTargets.Create(teacherTopKIds, teacherTopKLogprobs, student.shape[0], student.shape[1]);
        var (kdSum, kdCount, ceSum, ceCount) = SparseTopKAndCeSums(student, targets, flatLabels, temperature, tail, ignoreIndex);
        using var temperatureSquared = (temperature * temperature).ToScalar();
        var kd = kdSum.div(kdCount).mul(temperatureSquared);
        var ce = ceSum.div(ceCount);
        return new KdAndCe(Combine(kd, ce, alpha), kd.detach(), ce.detach());
    }

    /// <summary>
    /// Sums (not means) of the sparse KD and CE terms over kept positions of <paramref name="student"/> [N, V], and how many
    /// positions each kept (at least 1). Shared by <see cref="SparseTopKWithCe"/> and the fused chunked head loss, which
    /// divides by counts taken over all chunks.
    /// </summary>
    internal static (Tensor KdSum, Tensor KdCount, Tensor CeSum, Tensor CeCount) SparseTopKAndCeSums(Tensor student, SparseTargets targets,
        Tensor flatLabels, double temperature, TailMode tail, long ignoreIndex)
    {
        var labelled = LossMath.KeepMask(flatLabels, ignoreIndex);
        var target = flatLabels.masked_fill(labelled.logical_not(), Zero).unsqueeze(-1);  // [N, 1]
        var logq = LossMath.LogProbs(student, 1.0);
        Tensor logqK, logqLabel;
        Tensor logqKd = logq;
        if (temperature == 1.0)
        {
            // One gather for the K stored ids and the label: its backward is one [N, V] scatter instead of two.
            var both = logq.gather(-1, cat([targets.SafeIds, target], -1));      // [N, K + 1]
            var k = targets.SafeIds.shape[1];
            logqK = both.narrow(1, 0, k);
            logqLabel = both.narrow(1, k, 1).squeeze(-1);
        }
        else
        {
            logqKd = LossMath.LogProbs(student, temperature);
            logqK = logqKd.gather(-1, targets.SafeIds);
            logqLabel = logq.gather(-1, target).squeeze(-1);
        }
        var (perToken, keep) = SparseTopKPerToken(logqKd, logqK, targets, flatLabels, tail, ignoreIndex);
        return (LossMath.MaskedSum(perToken, keep), LossMath.KeptCount(keep),
            LossMath.MaskedSum(logqLabel.neg(), labelled), LossMath.KeptCount(labelled));
    }

    /// <summary>Validated teacher top-k entries flattened to [N, K]: ids with missing ones (negative) replaced by 0, and the mask.</summary>
    internal sealed record SparseTargets(Tensor SafeIds, Tensor Valid, Tensor TeacherLogP, long VocabSize)
    {
        internal static SparseTargets Create(Tensor teacherTopKIds, Tensor teacherTopKLogprobs, long n, long v)
        {
            LossMath.CheckSameShape(teacherTopKIds, teacherTopKLogprobs, nameof(teacherTopKIds), nameof(teacherTopKLogprobs));
            var k = teacherTopKIds.shape[^1];
            if (teacherTopKIds.numel() != n * k)
                throw new ArgumentException($"teacher top-k [{string.Join(", ", teacherTopKIds.shape)}] must have one row of K ids per student position ({n})",
                    nameof(teacherTopKIds));
            if (k > v)
                throw new ArgumentException($"K = {k} ids per position exceeds the vocabulary size {v}", nameof(teacherTopKIds));
            var ids = teacherTopKIds.detach().reshape(n, k).to_type(ScalarType.Int64);
            var valid = ids.ge(Zero);
            var invalid = valid.logical_not();
            var logP = teacherTopKLogprobs.detach().reshape(n, k).to_type(ScalarType.Float32).masked_fill(invalid, Zero);
            return new SparseTargets(ids.masked_fill(invalid, Zero), valid, logP, v);
        }

        /// <summary>Rows <paramref name="rows"/> (int64 [M]) of every tensor.</summary>
        internal SparseTargets Select(Tensor rows) =>
            new(SafeIds.index_select(0, rows), Valid.index_select(0, rows), TeacherLogP.index_select(0, rows), VocabSize);

        /// <summary>Rows start .. start + length - 1 of every tensor (views).</summary>
        internal SparseTargets Narrow(long start, long length) =>
            new(SafeIds.narrow(0, start, length), Valid.narrow(0, start, length), TeacherLogP.narrow(0, start, length), VocabSize);
    }

    /// <summary>
    /// Below this student rest mass the rest bucket is recomputed exactly. 1 - sum of the gathered probabilities inherits the
    /// float32 rounding of the log-softmax's normalizer (about 1e-6 absolute at logits of order 10), i.e. up to 1e-4 of a rest
    /// mass above 1e-2; below that the relative error would grow as 1 / rest.
    /// </summary>
    internal const double ExactRestBelow = 1e-2;

    // Kept for the process, like the shared Scalars (an implicit number -> Scalar per call can be freed mid-call by its finalizer).
    // ExactMassAbove: the gathered student mass above which the rest is below ExactRestBelow.
    static readonly Scalar ExactMassAbove = (1 - ExactRestBelow).ToScalar();

    /// <summary>
    /// Per-position sparse KD [N] and the kept mask [N].
    /// <paramref name="logq"/> [N, V] are the student's log-probabilities (at the KD temperature), read only for the rows whose
    /// rest bucket needs the exact complement; <paramref name="logqK"/> [N, K] are the same gathered at the stored ids.
    /// </summary>
    internal static (Tensor PerToken, Tensor Keep) SparseTopKPerToken(Tensor logq, Tensor logqK, SparseTargets targets, Tensor flatLabels,
        TailMode tail, long ignoreIndex)
    {
        var valid = targets.Valid;
        var invalid = valid.logical_not();
        var teacherLogP = targets.TeacherLogP;
        logqK = logqK.masked_fill(invalid, Zero);
        var validCount = valid.sum(-1);                                               // [N]
        var keep = LossMath.KeepMask(flatLabels, ignoreIndex).logical_and(validCount.gt(Zero));

        // Rows that are skipped get finite stand-ins wherever -inf would appear, so their zero gradient never meets a NaN.
        var dropRow = keep.logical_not().unsqueeze(-1);                               // [N, 1]
        var missing = invalid.logical_and(dropRow.logical_not());                     // missing ids of kept rows
        if (tail == TailMode.Renormalize)
        {
            var logPn = teacherLogP.masked_fill(missing, NegativeInfinity).log_softmax(-1);
            var logQn = logqK.masked_fill(missing, NegativeInfinity).log_softmax(-1);
            return (LossMath.Kl(logPn, logQn), keep);
        }

        // sum_i p_i (log p_i - log q_i) over the stored ids ...
        var head = LossMath.Kl(teacherLogP.masked_fill(missing, NegativeInfinity), logqK);
        // ... + (1 - m) (log(1 - m) - log(1 - sum_i q_i)) for the rest bucket.
        var restP = teacherLogP.exp().masked_fill(invalid, Zero).sum(-1)
            .neg().add(One, alpha: One).clamp_min(Zero);   // [N]
        // When the stored ids cover the vocabulary there is no rest bucket (1 - m is float rounding there, and log 0 = -inf).
        using var vocabSize = targets.VocabSize.ToScalar();
        var noRest = validCount.ge(vocabSize).logical_or(restP.eq(Zero)).logical_or(keep.logical_not());
        var logRestQ = StudentRest(logq, logqK, targets, invalid, noRest);
        var restTerm = restP.mul(restP.masked_fill(noRest, One).log().sub(logRestQ)).masked_fill(noRest, Zero);
        return (head.add(restTerm, One), keep);
    }

    /// <summary>
    /// log of the student's mass outside the stored ids, [N] float32 (0 on <paramref name="noRest"/> rows).
    /// Computed as log1p(-sum_k q_k) from the K gathered log-probabilities in float64, which needs no pass over the
    /// vocabulary; rows whose rest is under <see cref="ExactRestBelow"/> (cancellation would cost accuracy there) take the
    /// exact logsumexp over the other ids instead, on those rows only.
    /// </summary>
    static Tensor StudentRest(Tensor logq, Tensor logqK, SparseTargets targets, Tensor invalid, Tensor noRest)
    {
        var massK = logqK.to_type(ScalarType.Float64).exp().masked_fill(invalid, Zero).sum(-1);     // [N]
        var exact = massK.gt(ExactMassAbove).logical_and(noRest.logical_not());
        // Rows not computed here get mass 0, so log1p and its gradient stay finite (their value is replaced or masked).
        var fast = massK.masked_fill(exact.logical_or(noRest), Zero).neg().log1p().to_type(ScalarType.Float32);
        var rows = exact.nonzero().reshape(-1);
        if (rows.shape[0] == 0) return fast;
        var sub = targets.Select(rows);
        var inTopK = zeros([rows.shape[0], logq.shape[1]], ScalarType.Float32, logq.device)
            .scatter_add(-1, sub.SafeIds, sub.Valid.to_type(ScalarType.Float32)).gt(Zero);
        var exactRest = logq.index_select(0, rows).masked_fill(inTopK, NegativeInfinity).logsumexp(-1, false);
        return fast.index_copy(0, rows, exactRest);
    }

    static void CheckAlpha(double alpha)
    {
        if (alpha is < 0 or > 1 || double.IsNaN(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be in [0, 1]");
    }
}

internal static partial class KdLoss
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
