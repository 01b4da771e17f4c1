using TorchSharp;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Online full-distribution KD computed in chunks along the sequence (torchtune's ForwardKLWithChunkedOutputLoss,
    /// generalized to any <see cref="Divergence"/>). Each chunk's logits are produced by the callbacks, upcast to float32,
    /// scored, and summed; the sum is divided once by the total number of unmasked positions and multiplied by T^2, so
    /// the result equals the unchunked <see cref="FullDistribution"/> loss for any chunk count.
    /// <para>Memory: the teacher callback runs under no_grad and each teacher chunk is freed before the next, so the teacher's
    /// [B, T, V] logits never exist at once. The student's per-chunk float32 tensors that autograd saves for backward stay alive
    /// until backward (as in torchtune); what chunking removes is the full-size float32 upcast and the transient
    /// softmax / mixture buffers of the whole sequence. For peak memory near plain SFT use the hidden-state overload, which
    /// computes each chunk's gradients in the forward call and keeps nothing of size V.</para>
    /// </summary>
    /// <param name="studentLogits">(start, length) to the student's logits for positions [start, start + length): [B, length, V].</param>
    /// <param name="teacherLogits">(start, length) to the teacher's logits for the same positions: [B, length, V]; run under no_grad and detached.</param>
    /// <param name="labels">[B, T] int64; positions equal to <paramref name="ignoreIndex"/> are skipped. T is read from here.</param>
    /// <param name="numChunks">Chunks along T (torchtune's default is 8); the last chunk takes the remainder.</param>
    /// <param name="divergence">Objective; forward KL when null.</param>
    /// <param name="temperature">T &gt; 0 applied to both; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor; 0 (attached to the student's graph) when every position is masked.</returns>
    public static Tensor Chunked(Func<long, long, Tensor> studentLogits, Func<long, long, Tensor> teacherLogits, Tensor labels,
        int numChunks = 8, Divergence? divergence = null, double temperature = 1.0, long ignoreIndex = IgnoreIndex)
    {
        divergence ??= Divergence.ForwardKl;
        divergence.Validate();
        LossMath.CheckTemperature(temperature);
        if (numChunks < 1) throw new ArgumentOutOfRangeException(nameof(numChunks), numChunks, "numChunks must be at least 1");
        if (labels.dim() != 2) throw new ArgumentException($"labels must be [B, T], got [{string.Join(", ", labels.shape)}]", nameof(labels));

        var seq = labels.shape[1];
        var chunk = Math.Max(1, (seq + numChunks - 1) / numChunks);
        Tensor? total = null;
        for (long start = 0; start < seq; start += chunk)
        {
            var len = Math.Min(chunk, seq - start);
            using var scope = NewDisposeScope();
            var chunkLabels = labels.narrow(1, start, len);
            Tensor teacherLogP;
            using (no_grad())
            {
                teacherLogP = LossMath.LogProbs(teacherLogits(start, len).detach(), temperature);
            }
            var studentChunk = studentLogits(start, len);
            LossMath.CheckSameShape(studentChunk, teacherLogP, "student chunk logits", "teacher chunk logits");
            var (student, flatLabels) = LossMath.Flatten(studentChunk, chunkLabels, nameof(studentLogits));
            var v = student.shape[1];
            var perToken = divergence.PerToken(teacherLogP.reshape(-1, v), LossMath.LogProbs(student, temperature));
            var sum = LossMath.MaskedSum(perToken, LossMath.KeepMask(flatLabels, ignoreIndex));
            var next = total is null ? sum : total.add(sum, One);
            total = next.MoveToOuterDisposeScope();
        }
        if (total is null) throw new ArgumentException("labels have no positions (T = 0)", nameof(labels));
        using var temperatureSquared = (temperature * temperature).ToScalar();
        return total.div(LossMath.KeptCount(LossMath.KeepMask(labels, ignoreIndex))).mul(temperatureSquared);
    }

    /// <summary>
    /// Chunked online KD from final hidden states with peak memory near plain SFT: the labelled positions are projected
    /// through both language-model heads a chunk at a time, scored, and their gradients with respect to
    /// <paramref name="studentHidden"/> and <paramref name="studentLmHead"/> are computed right away (Liger-Kernel's fused-linear
    /// approach); the chunk's logits are then freed and backward only scales the stored gradients. Neither model's [B, T, V]
    /// logits exist at once, before or during backward. The value and gradients equal <see cref="FullDistribution"/> on the full logits.
    /// <para>Costs: the gradients are computed in the forward call even if backward never runs (use no_grad / inputs without
    /// requires_grad for evaluation, which skips them), and the result cannot be differentiated twice.</para>
    /// </summary>
    /// <param name="studentHidden">Student final (post-norm) hidden states [B, T, Hs].</param>
    /// <param name="studentLmHead">Student lm_head weight [V, Hs] (no bias, as in Llama); may be frozen.</param>
    /// <param name="teacherHidden">Teacher final hidden states [B, T, Ht]; detached inside.</param>
    /// <param name="teacherLmHead">Teacher lm_head weight [V, Ht]; detached inside.</param>
    /// <param name="labels">[B, T] int64 mask source.</param>
    /// <param name="numChunks">The labelled positions are scored in at least this many chunks (more when a chunk's logits would pass 16 MB).</param>
    /// <param name="divergence">Objective; forward KL when null.</param>
    /// <param name="temperature">T &gt; 0 applied to both; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Scalar float32 tensor; 0 when every position is masked (backward then gives zero gradients).</returns>
    public static Tensor Chunked(Tensor studentHidden, Tensor studentLmHead, Tensor teacherHidden, Tensor teacherLmHead, Tensor labels,
        int numChunks = 8, Divergence? divergence = null, double temperature = 1.0, long ignoreIndex = IgnoreIndex)
    {
        if (studentLmHead.dim() == 2 && teacherLmHead.dim() == 2 && studentLmHead.shape[0] != teacherLmHead.shape[0])
            throw new ArgumentException($"student and teacher vocabularies differ ({studentLmHead.shape[0]} vs {teacherLmHead.shape[0]})", nameof(teacherLmHead));
        return ChunkedWithCe(studentHidden, studentLmHead, teacherHidden, teacherLmHead, labels, alpha: 1.0, numChunks, divergence, temperature,
            ignoreIndex: ignoreIndex).Total;
    }

    /// <summary>
    /// Online KD mixed with cross-entropy from final hidden states, fused and chunked like
    /// <see cref="Chunked(Tensor,Tensor,Tensor,Tensor,Tensor,int,Divergence?,double,long)"/>: <c>alpha * KD + (1 - alpha) * CE</c>
    /// with one projection of each labelled position through each head. Same value and gradients as
    /// <see cref="Combine"/>(<see cref="FullDistribution"/>, <see cref="CrossEntropy"/>) on the full logits. What the online KD
    /// objective (and the online stage of top-k KD) trains with.
    /// </summary>
    /// <param name="studentHidden">Student final (post-norm) hidden states [B, T, Hs].</param>
    /// <param name="studentLmHead">Student lm_head weight [Vs, Hs]; may be frozen.</param>
    /// <param name="teacherHidden">Teacher final hidden states [B, T, Ht]; detached inside.</param>
    /// <param name="teacherLmHead">Teacher lm_head weight [Vt, Ht]; detached inside.</param>
    /// <param name="labels">[B, T] int64 CE targets and the mask of both terms.</param>
    /// <param name="alpha">Weight of the KD term, in [0, 1].</param>
    /// <param name="numChunks">The labelled positions are scored in at least this many chunks.</param>
    /// <param name="divergence">Objective; forward KL when null.</param>
    /// <param name="temperature">T &gt; 0 for the KD term only; the KD term carries T^2.</param>
    /// <param name="sharedVocab">The KD term compares the first this-many logits of both heads (padded vocabularies of one
    /// tokenizer); null: both heads have the same rows. CE always scores all of the student's.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    /// <returns>Total (attached to the graph), and the KD and CE terms detached, for logging.</returns>
    public static KdAndCe ChunkedWithCe(Tensor studentHidden, Tensor studentLmHead, Tensor teacherHidden, Tensor teacherLmHead, Tensor labels,
        double alpha, int numChunks = 8, Divergence? divergence = null, double temperature = 1.0, long? sharedVocab = null,
        long ignoreIndex = IgnoreIndex)
    {
        divergence ??= Divergence.ForwardKl;
        divergence.Validate();
        LossMath.CheckTemperature(temperature);
        CheckAlpha(alpha);
        if (numChunks < 1) throw new ArgumentOutOfRangeException(nameof(numChunks), numChunks, "numChunks must be at least 1");
        CheckHidden(studentHidden, studentLmHead, labels, nameof(studentHidden));
        CheckHidden(teacherHidden, teacherLmHead, labels, nameof(teacherHidden));
        var shared = sharedVocab ?? studentLmHead.shape[0];
        if (shared < 1 || shared > studentLmHead.shape[0] || shared > teacherLmHead.shape[0])
            throw new ArgumentException(
                $"the shared vocabulary {shared} must be at least 1 and fit both heads ({studentLmHead.shape[0]} and {teacherLmHead.shape[0]} rows)", nameof(sharedVocab));
        if (labels.shape[1] == 0) throw new ArgumentException("labels have no positions (T = 0)", nameof(labels));
        var terms = new FusedChunkedKdFunction.Terms();
        var total = FusedChunkedKdFunction.apply(studentHidden, studentLmHead, teacherHidden.detach(), teacherLmHead.detach(), labels,
            numChunks, divergence, temperature, ignoreIndex, is_grad_enabled(), alpha, shared, terms);
        return new KdAndCe(total, terms.Kd!, terms.Ce!);
    }

    /// <summary>
    /// Chunked forward KL from hidden states: <see cref="Chunked(Tensor,Tensor,Tensor,Tensor,Tensor,int,Divergence?,double,long)"/>
    /// with <see cref="Divergence.ForwardKl"/>.
    /// </summary>
    /// <param name="studentHidden">[B, T, Hs].</param>
    /// <param name="studentLmHead">[V, Hs].</param>
    /// <param name="teacherHidden">[B, T, Ht].</param>
    /// <param name="teacherLmHead">[V, Ht].</param>
    /// <param name="labels">[B, T] int64 mask source.</param>
    /// <param name="numChunks">Chunks along T.</param>
    /// <param name="temperature">T &gt; 0; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    public static Tensor ChunkedForwardKl(Tensor studentHidden, Tensor studentLmHead, Tensor teacherHidden, Tensor teacherLmHead,
        Tensor labels, int numChunks = 8, double temperature = 1.0, long ignoreIndex = IgnoreIndex) =>
        Chunked(studentHidden, studentLmHead, teacherHidden, teacherLmHead, labels, numChunks, Divergence.ForwardKl, temperature, ignoreIndex);

    /// <summary>
    /// Chunked KD over logits that already exist (e.g. a teacher forward in bf16): only one chunk is upcast to float32 at a time.
    /// </summary>
    /// <param name="studentLogits">[B, T, V].</param>
    /// <param name="teacherLogits">[B, T, V]; detached inside.</param>
    /// <param name="labels">[B, T] int64 mask source.</param>
    /// <param name="numChunks">Chunks along T.</param>
    /// <param name="divergence">Objective; forward KL when null.</param>
    /// <param name="temperature">T &gt; 0; result times T^2.</param>
    /// <param name="ignoreIndex">-100 by default.</param>
    public static Tensor Chunked(Tensor studentLogits, Tensor teacherLogits, Tensor labels, int numChunks = 8,
        Divergence? divergence = null, double temperature = 1.0, long ignoreIndex = IgnoreIndex)
    {
        LossMath.CheckSameShape(studentLogits, teacherLogits, nameof(studentLogits), nameof(teacherLogits));
        if (studentLogits.dim() != 3) throw new ArgumentException("chunked KD needs [B, T, V] logits", nameof(studentLogits));
        var teacher = teacherLogits.detach();
        return Chunked((s, n) => studentLogits.narrow(1, s, n), (s, n) => teacher.narrow(1, s, n), labels, numChunks, divergence,
            temperature, ignoreIndex);
    }

    static void CheckHidden(Tensor hidden, Tensor lmHead, Tensor labels, string name)
    {
        if (hidden.dim() != 3 || lmHead.dim() != 2 || hidden.shape[2] != lmHead.shape[1])
            throw new ArgumentException(
                $"{name} [{string.Join(", ", hidden.shape)}] must be [B, T, H] with lm_head [V, H], got lm_head [{string.Join(", ", lmHead.shape)}]", name);
        if (labels.dim() != 2 || labels.shape[0] != hidden.shape[0] || labels.shape[1] != hidden.shape[1])
            throw new ArgumentException($"labels [{string.Join(", ", labels.shape)}] must be [B, T] matching {name}", nameof(labels));
    }
}
