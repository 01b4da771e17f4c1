using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

/// <summary>
/// Chunked online KD whose gradients are computed during the forward call (the approach of Liger-Kernel's fused linear
/// losses): for each chunk of positions the student's and teacher's logits are projected from the hidden states, the
/// chunk's divergence and its gradients with respect to the student's hidden chunk and lm_head are computed at once, and the
/// chunk's logits are freed. Backward only scales the stored gradients by the incoming gradient.
/// Peak extra memory is one chunk of [B, T / chunks, V] float32 logits plus gradients the size of the student's hidden states
/// and lm_head, instead of several full [B, T, V] float32 tensors kept for backward.
/// Tensor arguments: studentHidden [B, T, Hs], studentLmHead [V, Hs], teacherHidden [B, T, Ht], teacherLmHead [V, Ht], labels [B, T];
/// then numChunks (int), divergence (<see cref="Divergence"/>), temperature (double), ignoreIndex (long), and whether grad mode
/// was on at the call (bool; forward itself always runs with grad mode off).
/// </summary>
internal sealed class FusedChunkedKdFunction : SingleTensorFunction<FusedChunkedKdFunction>
{
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

        var wantH = gradEnabled && studentHidden.requires_grad;
        var wantW = gradEnabled && studentLmHead.requires_grad;
        var seq = labels.shape[1];
        var chunk = Math.Max(1, (seq + numChunks - 1) / numChunks);

        var total = zeros([], ScalarType.Float32, studentHidden.device);
        var gradH = wantH ? zeros_like(studentHidden) : null;
        var gradW = wantW ? zeros_like(studentLmHead, ScalarType.Float32) : null;
        var w = studentLmHead.detach();
        var teacherW = teacherLmHead.detach();

        for (long start = 0; start < seq; start += chunk)
        {
            var len = Math.Min(chunk, seq - start);
            using var scope = NewDisposeScope();
            var chunkLabels = labels.narrow(1, start, len);
            var teacherLogP = LossMath.LogProbsInPlace(nn.functional.linear(teacherHidden.narrow(1, start, len).detach(), teacherW), temperature);
            using (enable_grad())
            {
                var h = studentHidden.narrow(1, start, len).detach();
                // Autograd only from the loss back to this chunk's logits; the head's two matmuls are done here, dL/dW
                // accumulated in place, so no [V, H] gradient is allocated per chunk.
                var z = nn.functional.linear(h, w).requires_grad_(wantH || wantW);
                var (student, flatLabels) = LossMath.Flatten(z, chunkLabels, "studentLogits");
                var v = student.shape[1];
                var perToken = divergence.PerToken(teacherLogP.reshape(-1, v), LossMath.LogProbs(student, temperature));
                var sum = LossMath.MaskedSum(perToken, LossMath.KeepMask(flatLabels, ignoreIndex));
                if (wantH || wantW)
                {
                    var g = grad([sum], [z])[0].reshape(-1, v);                      // dL/dlogits [B * len, V]
                    var hFlat = h.reshape(-1, h.shape[2]);
                    if (wantH) gradH!.narrow(1, start, len).copy_(g.mm(w).reshape(h.shape));
                    if (wantW) gradW!.addmm_(g.to_type(ScalarType.Float32).t(), hFlat.to_type(ScalarType.Float32));
                }
                total.add_(sum.detach(), One);
            }
        }

        var kept = Math.Max(1L, LossMath.KeepMask(labels, ignoreIndex).sum().item<long>());
        // Explicit, alive until the call returns: an implicit double -> Scalar can be freed by its finalizer while libtorch
        // still reads it (see Distill.Models.Native.Scalars).
        using var scale = (temperature * temperature / kept).ToScalar();
        var saved = new List<Tensor>();
        if (gradH is not null) saved.Add(gradH.mul_(scale));
        if (gradW is not null) saved.Add(gradW.mul_(scale).to_type(studentLmHead.dtype));
        ctx.save_for_backward(saved);
        ctx.save_data("wantH", wantH);
        ctx.save_data("wantW", wantW);
        return total.mul_(scale);
    }

    public override List<Tensor> backward(AutogradContext ctx, Tensor gradOutput) =>
        LossMath.ScaledSavedGradients(ctx, gradOutput, inputs: 10);
}
