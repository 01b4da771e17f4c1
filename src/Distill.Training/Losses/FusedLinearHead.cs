using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Cross-entropy of <c>hidden @ lmHead^T</c> without ever holding the [N, V] logits: the labelled positions are projected
    /// through the head a chunk of rows at a time, and each chunk's gradients with respect to the hidden states and the head
    /// are computed right away (the fused linear cross-entropy of Liger-Kernel / torchtune's chunked output). Same value and
    /// gradients as <c>CrossEntropy(linear(hidden, lmHead), labels)</c>.
    /// <para>Why: at a 32k vocabulary the [N, V] float32 logits, their log-softmax and their gradients are 130 MB each for
    /// 1,024 tokens; a tensor that large is a fresh mmap on every allocation (glibc), whose page faults cost more than the
    /// matmuls. Chunks of at most 16 MB are reused from the heap and stay in cache. Positions whose label is ignored are not
    /// projected at all (they have no loss and no gradient), so prompt tokens cost no head FLOPs.</para>
    /// <para>Costs: the gradients are computed in the forward call even if backward never runs (under no_grad, or with inputs
    /// that need no gradient, they are skipped), and the result cannot be differentiated twice.</para>
    /// </summary>
    /// <param name="hidden">Final (post-norm) hidden states [B, T, H] or [N, H].</param>
    /// <param name="lmHead">lm_head weight [V, H] (no bias, as in Llama); may be frozen.</param>
    /// <param name="labels">[B, T] or [N] int64; position t is scored against labels[t] (shift before calling).</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <param name="chunkRows">Positions per chunk; 0 picks about 16 MB of float32 logits.</param>
    /// <returns>Scalar float32 tensor: mean over labelled positions; 0 when none (backward then gives zero gradients).</returns>
    public static Tensor LinearCrossEntropy(Tensor hidden, Tensor lmHead, Tensor labels, long ignoreIndex = IgnoreIndex, int chunkRows = 0) =>
        FusedLinearHeadFunction.apply(hidden, lmHead, CheckHead(hidden, lmHead, labels), null!, 0.0, 1.0, TailMode.RestBucket, ignoreIndex,
            chunkRows, is_grad_enabled(), new FusedLinearHeadFunction.Terms());

    /// <summary>
    /// <see cref="SparseTopKWithCe"/> on <c>hidden @ lmHead^T</c>, chunked and fused like <see cref="LinearCrossEntropy"/>:
    /// <c>alpha * SparseTopK + (1 - alpha) * CrossEntropy</c> with the same value and gradients, without the [N, V] logits.
    /// </summary>
    /// <param name="hidden">Final hidden states [B, T, H] or [N, H].</param>
    /// <param name="lmHead">lm_head weight [V, H]; may be frozen.</param>
    /// <param name="teacherTopKIds">[B, T, K] or [N, K] int64; negative = missing.</param>
    /// <param name="teacherTopKLogprobs">[B, T, K] or [N, K] teacher log-probabilities at T = 1.</param>
    /// <param name="labels">[B, T] or [N] int64 CE targets and the mask of both terms.</param>
    /// <param name="alpha">Weight of the KD term, in [0, 1].</param>
    /// <param name="temperature">T &gt; 0 for the KD term only; the KD term carries T^2.</param>
    /// <param name="tail">How the mass outside the top-k is treated.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <param name="chunkRows">Positions per chunk; 0 picks about 16 MB of float32 logits.</param>
    /// <returns>Total (attached to the graph), and the KD and CE terms detached, for logging.</returns>
    public static KdAndCe LinearSparseTopKWithCe(Tensor hidden, Tensor lmHead, Tensor teacherTopKIds, Tensor teacherTopKLogprobs, Tensor labels,
        double alpha, double temperature = 1.0, TailMode tail = TailMode.RestBucket, long ignoreIndex = IgnoreIndex, int chunkRows = 0)
    {
        LossMath.CheckTemperature(temperature);
        CheckAlpha(alpha);
        var flatLabels = CheckHead(hidden, lmHead, labels);
        var targets = SparseTargets.Create(teacherTopKIds, teacherTopKLogprobs, flatLabels.shape[0], lmHead.shape[0]);
        var terms = new FusedLinearHeadFunction.Terms();
        var total = FusedLinearHeadFunction.apply(hidden, lmHead, flatLabels, targets, alpha, temperature, tail, ignoreIndex, chunkRows,
            is_grad_enabled(), terms);
        return new KdAndCe(total, terms.Kd!, terms.Ce!);
    }

    /// <summary>Checks hidden [.., H] against lm_head [V, H] and one label per position; returns the labels as [N].</summary>
    static Tensor CheckHead(Tensor hidden, Tensor lmHead, Tensor labels)
    {
        if (hidden.dim() is not (2 or 3) || lmHead.dim() != 2 || hidden.shape[^1] != lmHead.shape[1])
            throw new ArgumentException(
                $"hidden [{string.Join(", ", hidden.shape)}] must be [B, T, H] or [N, H] with lm_head [V, H], got lm_head [{string.Join(", ", lmHead.shape)}]",
                nameof(hidden));
        var flat = labels.reshape(-1);
        if (flat.shape[0] * hidden.shape[^1] != hidden.numel())
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] must have one label per position of hidden [{string.Join(", ", hidden.shape)}]",
                nameof(labels));
        return flat;
    }
}

/// <summary>
/// The fused, chunked language-model head loss behind <see cref="KdLoss.LinearCrossEntropy"/> and
/// <see cref="KdLoss.LinearSparseTopKWithCe"/>. Per chunk of labelled rows: logits = h W^T; the gradient of the chunk's share of
/// the loss with respect to those logits (autograd through the same pure loss code as the unfused losses); then dL/dh = G W and
/// dL/dW += G^T h, accumulated in place so no [V, H] temporary is allocated per chunk. Backward only scales the stored gradients.
/// Arguments: hidden, lmHead, flat labels [N], sparse targets (<see cref="KdLoss.SparseTargets"/> or null for plain CE), alpha,
/// temperature, tail, ignoreIndex, chunkRows, whether grad mode was on at the call, and a <see cref="Terms"/> that receives the
/// detached CE and KD means.
/// </summary>
internal sealed class FusedLinearHeadFunction : SingleTensorFunction<FusedLinearHeadFunction>
{
    /// <summary>Chunks hold at most this many bytes of float32 logits: below glibc's largest mmap threshold (32 MB), so reused.</summary>
    const long ChunkBytes = 16L << 20;

    /// <summary>Receives the detached terms of the last call (a function returns one tensor; the trainer logs both terms).</summary>
    internal sealed class Terms
    {
        public Tensor? Ce;
        public Tensor? Kd;
    }

    public override string Name => "FusedLinearHead";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var lmHead = (Tensor)vars[1];
        var labels = (Tensor)vars[2];
        var sparse = vars[3] as KdLoss.SparseTargets;
        var alpha = (double)vars[4];
        var temperature = (double)vars[5];
        var tail = (TailMode)vars[6];
        var ignoreIndex = (long)vars[7];
        var chunkRows = (int)vars[8];
        var gradEnabled = (bool)vars[9];
        var terms = (Terms)vars[10];

        var v = lmHead.shape[0];
        var h = hidden.detach().reshape(-1, hidden.shape[^1]);
        var wantH = gradEnabled && hidden.requires_grad;
        var wantW = gradEnabled && lmHead.requires_grad;
        var rows = LossMath.KeepMask(labels, ignoreIndex).nonzero().reshape(-1);      // labelled positions only
        var m = rows.shape[0];
        var hSel = h.index_select(0, rows);
        var labelsSel = labels.index_select(0, rows);
        var sparseSel = sparse?.Select(rows);
        var step = chunkRows > 0 ? chunkRows : (int)Math.Max(1, ChunkBytes / (4 * v));

        // The loss is a mean over all chunks, so each chunk's sum is divided by counts taken over every position up front.
        var ceCount = Math.Max(1L, m);
        var kdCount = sparseSel is null ? 1L : Math.Max(1L, sparseSel.Valid.any(-1).sum().item<long>());
        // Explicit Scalars, alive until the call returns: an implicit number -> Scalar can be freed by its finalizer while
        // libtorch still reads it (see Distill.Models.Native.Scalars).
        using var ceWeight = ((1 - alpha) / ceCount).ToScalar();
        using var kdWeight = (alpha * temperature * temperature / kdCount).ToScalar();
        using var ceDivisor = ceCount.ToScalar();
        using var kdDivisor = kdCount.ToScalar();
        using var temperatureSquared = (temperature * temperature).ToScalar();

        var ceSum = zeros([], ScalarType.Float32, hidden.device);
        var kdSum = zeros([], ScalarType.Float32, hidden.device);
        var gradH = wantH ? zeros_like(h) : null;
        var gradW = wantW ? zeros_like(lmHead, ScalarType.Float32) : null;          // accumulated in float32 for bf16 heads
        var w = lmHead.detach();
        for (long start = 0; start < m; start += step)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(step, m - start);
            var hc = hSel.narrow(0, start, len);
            var labelsC = labelsSel.narrow(0, start, len);
            using (enable_grad())
            {
                var z = nn.functional.linear(hc, w).requires_grad_(wantH || wantW);
                Tensor ce, kd, loss;
                if (sparseSel is null)
                {
                    ce = LossMath.LogProbs(z, 1.0).gather(-1, labelsC.unsqueeze(-1)).sum().neg();
                    kd = zeros([], ScalarType.Float32, hidden.device);
                    loss = ce.mul(ceWeight);
                }
                else
                {
                    (kd, _, ce, _) = KdLoss.SparseTopKAndCeSums(z, sparseSel.Narrow(start, len), labelsC,
                        temperature, tail, ignoreIndex);
                    loss = ce.mul(ceWeight).add(kd.mul(kdWeight), One);
                }
                if (wantH || wantW)
                {
                    var g = grad([loss], [z])[0];                                     // dL/dlogits [len, V]
                    if (wantH) gradH!.index_copy_(0, rows.narrow(0, start, len), g.mm(w));
                    if (wantW) gradW!.addmm_(g.to_type(ScalarType.Float32).t(), hc.to_type(ScalarType.Float32));
                }
                ceSum.add_(ce.detach(), One);
                kdSum.add_(kd.detach(), One);
            }
        }

        terms.Ce = ceSum.div(ceDivisor);
        terms.Kd = kdSum.div(kdDivisor).mul(temperatureSquared);
        var saved = new List<Tensor>();
        if (gradH is not null) saved.Add(gradH.reshape(hidden.shape));
        if (gradW is not null) saved.Add(gradW.to_type(lmHead.dtype));
        ctx.save_for_backward(saved);
        ctx.save_data("wantH", wantH);
        ctx.save_data("wantW", wantW);
        return ceSum.mul(ceWeight).add(kdSum.mul(kdWeight), One);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput) =>
        LossMath.ScaledSavedGradients(ctx, gradOutput, inputs: 11);
}
