using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

/// <summary>
/// Online KD (and its cross-entropy term) whose gradients are computed during the forward call (the approach of Liger-Kernel's
/// fused linear losses): the labelled positions are taken a chunk at a time; each chunk's student and teacher logits are
/// projected from the hidden states, the chunk's <c>alpha * divergence + (1 - alpha) * CE</c> and its gradients with respect
/// to the student's hidden rows and lm_head are computed at once, and the chunk's logits are freed. Positions without a label
/// are never projected (they have no loss and no gradient). Backward only scales the stored gradients by the incoming gradient.
/// Peak extra memory is one chunk of float32 logits (at most <see cref="ChunkBytes"/> per tensor) plus gradients the size of the
/// student's hidden states and lm_head, instead of several full [B, T, V] float32 tensors kept for backward.
/// Arguments: studentHidden [B, T, Hs], studentLmHead [Vs, Hs], teacherHidden [B, T, Ht], teacherLmHead [Vt, Ht], labels [B, T];
/// then numChunks (int, the least number of chunks), divergence (<see cref="Divergence"/>), temperature (double), ignoreIndex
/// (long), whether grad mode was on at the call (bool; forward itself runs with grad mode off), alpha (double), the shared
/// vocabulary v (long: the divergence compares the first v logits of both heads; CE uses all Vs) and a <see cref="Terms"/> that
/// receives the detached KD and CE means.
/// </summary>
internal sealed class FusedChunkedKdFunction : SingleTensorFunction<FusedChunkedKdFunction>
{
    /// <summary>Chunks hold at most this many bytes of float32 logits per tensor: below glibc's largest mmap threshold (32 MB), so reused.</summary>
    internal const long ChunkBytes = 16L << 20;

    /// <summary>Receives the detached terms of the last call (a function returns one tensor; the trainer logs both terms).</summary>
    internal sealed class Terms
    {
        public Tensor? Ce;
        public Tensor? Kd;
    }

    public override string Name => "FusedChunkedKd";

    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        var studentHidden = (Tensor)vars[0];
        var studentLmHead = (Tensor)vars[1];
        var teacherHidden = (Tensor)vars[2];
        var teacherLmHead = (Tensor)vars[3];
        var labels = (Tensor)vars[4];
        var numChunks = (int)vars[5];
        var divergence = (Divergence)vars[6];
        var temperature = (double)vars[7];
        var ignoreIndex = (long)vars[8];
        var gradEnabled = (bool)vars[9];
        var alpha = (double)vars[10];
        var shared = (long)vars[11];
        var terms = (Terms)vars[12];

        var wantH = gradEnabled && studentHidden.requires_grad;
        var wantW = gradEnabled && studentLmHead.requires_grad;
        var vStudent = studentLmHead.shape[0];
        var h = studentHidden.detach().reshape(-1, studentHidden.shape[^1]);
        var th = teacherHidden.detach().reshape(-1, teacherHidden.shape[^1]);
        var flatLabels = labels.reshape(-1);
        var rows = LossMath.KeepMask(flatLabels, ignoreIndex).nonzero().reshape(-1);   // labelled positions only
        var m = rows.shape[0];
        var hSel = h.index_select(0, rows);
        var thSel = th.index_select(0, rows);
        var labelsSel = flatLabels.index_select(0, rows);
        var byCount = Math.Max(1, (m + numChunks - 1) / numChunks);
        var step = Math.Min(byCount, Math.Max(1, ChunkBytes / (4 * vStudent)));

        var kept = Math.Max(1L, m);
        // Explicit Scalars, alive until the call returns: an implicit number -> Scalar can be freed by its finalizer while
        // libtorch still reads it (see Distill.Models.Native.Scalars).
        using var kdWeight = (alpha * temperature * temperature / kept).ToScalar();
        using var ceWeight = ((1 - alpha) / kept).ToScalar();
        using var divisor = kept.ToScalar();
        using var temperatureSquared = (temperature * temperature).ToScalar();

        var kdSum = zeros([], ScalarType.Float32, studentHidden.device);
        var ceSum = zeros([], ScalarType.Float32, studentHidden.device);
        var gradH = wantH ? zeros_like(h) : null;
        var gradW = wantW ? zeros_like(studentLmHead, ScalarType.Float32) : null;      // accumulated in float32 for bf16 heads
        var w = studentLmHead.detach();
        var teacherW = teacherLmHead.detach().narrow(0, 0, shared);
        for (long start = 0; start < m; start += step)
        {
            using var scope = NewDisposeScope();
            var len = Math.Min(step, m - start);
            var hc = hSel.narrow(0, start, len);
            var labelsC = labelsSel.narrow(0, start, len);
            var teacherLogP = LossMath.LogProbsInPlace(nn.functional.linear(thSel.narrow(0, start, len), teacherW), temperature);
            Tensor kd, ce, g;
            if (divergence.Kind == DivergenceKind.ForwardKl)
            {
                (kd, ce, g) = ForwardKlChunk(nn.functional.linear(hc, w), teacherLogP, labelsC, temperature, shared,
                    alpha * temperature * temperature / kept, (1 - alpha) / kept, wantH || wantW);
            }
            else
            {
                using (enable_grad())
                {
                    // Autograd only from the loss back to this chunk's logits; the head's two matmuls are done below, dL/dW
                    // accumulated in place, so no [V, H] gradient is allocated per chunk.
                    var z = nn.functional.linear(hc, w).requires_grad_(wantH || wantW);
                    var logq = LossMath.LogProbs(z, 1.0);
                    var zShared = shared == vStudent ? z : z.narrow(-1, 0, shared);
                    var kdLogQ = temperature == 1.0 && shared == vStudent ? logq : LossMath.LogProbs(zShared, temperature);
                    kd = divergence.PerToken(teacherLogP, kdLogQ).sum();
                    ce = logq.gather(-1, labelsC.unsqueeze(-1)).sum().neg();
                    // alpha = 1 leaves CE out of the graph: it is only logged.
                    var loss = alpha == 1.0 ? kd.mul(kdWeight) : kd.mul(kdWeight).add(ce.mul(ceWeight), One);
                    g = wantH || wantW ? grad([loss], [z])[0] : null!;                 // dL/dlogits [len, Vs]
                }
            }
            if (wantH) gradH!.index_copy_(0, rows.narrow(0, start, len), g.to_type(w.dtype).mm(w));
            if (wantW) gradW!.addmm_(g.to_type(ScalarType.Float32).t(), hc.to_type(ScalarType.Float32));
            kdSum.add_(kd.detach(), One);
            ceSum.add_(ce.detach(), One);
        }

        terms.Kd = kdSum.div(divisor).mul(temperatureSquared);
        terms.Ce = ceSum.div(divisor);
        var saved = new List<Tensor>();
        if (gradH is not null) saved.Add(gradH.reshape(studentHidden.shape));
        if (gradW is not null) saved.Add(gradW.to_type(studentLmHead.dtype));
        ctx.save_for_backward(saved);
        ctx.save_data("wantH", wantH);
        ctx.save_data("wantW", wantW);
        var total = kdSum.mul(kdWeight);
        return alpha == 1.0 ? total : total.add(ceSum.mul(ceWeight), One);
    }

    /// <summary>
    /// One chunk of forward KL + CE with its gradient in closed form: d/dz [a KL(p || softmax(z/T)) + c CE(z)] =
    /// (a / T)(softmax(z/T) - p) on the shared columns + c (softmax(z) - onehot(label)), written into the chunk's own buffers.
    /// Autograd's route to the same gradient makes about twice as many passes over the [len, V] chunk (masks for -inf, the
    /// log-softmax backward, the gather's scatter), which made online KD 1.5x slower than SFT plus a teacher forward; here the
    /// logits are finite projections, so no -inf masking is needed. The divergences without such a simple form keep autograd.
    /// </summary>
    /// <returns>The chunk's KD and CE sums (unweighted) and dL/dz in float32 (null when no gradient is wanted).</returns>
    internal static (Tensor Kd, Tensor Ce, Tensor Grad) ForwardKlChunk(Tensor z, Tensor teacherLogP, Tensor labels, double temperature,
        long shared, double kdWeight, double ceWeight, bool wantGrad)
    {
        var vocab = z.shape[^1];
        var logq = LossMath.LogProbs(z, 1.0);                                  // a new float32 tensor: free to overwrite below
        var ce = logq.gather(-1, labels.unsqueeze(-1)).sum().neg();
        var sameQ = temperature == 1.0 && shared == vocab;
        var logqT = sameQ ? logq : LossMath.LogProbs(shared == vocab ? z : z.narrow(-1, 0, shared), temperature);
        var p = teacherLogP.exp();
        var kd = p.mul(teacherLogP.sub(logqT)).sum();
        if (!wantGrad) return (kd, ce, null!);
        Tensor g;
        if (sameQ)
        {
            using var qScale = (kdWeight + ceWeight).ToScalar();
            using var minusKdScale = (-kdWeight).ToScalar();
            g = logq.exp_().mul_(qScale).add_(p, minusKdScale);               // (a + c) q - a p  (T = 1)
        }
        else
        {
            using var kdScale = (kdWeight / temperature).ToScalar();
            using var ceScale = ceWeight.ToScalar();
            g = logq.exp_().mul_(ceScale);                                      // c q over the whole student vocabulary
            var kdPart = logqT.exp_().sub_(p).mul_(kdScale);                    // (a / T)(q_T - p) over the shared columns
            (shared == vocab ? g : g.narrow(-1, 0, shared)).add_(kdPart);
        }
        if (ceWeight != 0)
        {
            using var minusCe = (-ceWeight).ToScalar();
            g.scatter_add_(-1, labels.unsqueeze(-1), full([labels.shape[0], 1], minusCe, ScalarType.Float32, g.device));   // - c onehot
        }
        return (kd, ce, g);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput) =>
        LossMath.ScaledSavedGradients(ctx, gradOutput, inputs: 13);
}
