using Distill.Core.Errors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Training.Losses;

internal static partial class KdLoss
{
    /// <summary>
    /// Hidden-state KD: mean squared error between (projected) student hidden states and teacher hidden states, averaged over
    /// the hidden dimension and over kept positions (float32 inside). The teacher is detached. 0 when nothing is kept.
    /// </summary>
    /// <param name="projectedStudent">Student hidden states already projected to the teacher width: [B, T, Ht] (or [N, Ht]).</param>
    /// <param name="teacherHidden">Teacher hidden states, same shape.</param>
    /// <param name="mask">[B, T] (or [N]) bool or 0/1: non-zero keeps a position. Pass the attention mask to use every real token,
    /// or <c>labels.ne(-100)</c> for response tokens only.</param>
    /// <returns>Scalar float32 tensor: (1 / N_kept) * sum over kept positions of mean_h (s_h - t_h)^2.</returns>
    public static Tensor HiddenStateMse(Tensor projectedStudent, Tensor teacherHidden, Tensor mask)
    {
        LossMath.CheckSameShape(projectedStudent, teacherHidden, nameof(projectedStudent), nameof(teacherHidden));
        var h = projectedStudent.shape[^1];
        var s = projectedStudent.reshape(-1, h).to_type(ScalarType.Float32);
        var t = teacherHidden.detach().reshape(-1, h).to_type(ScalarType.Float32);
        var keep = mask.reshape(-1).ne(Zero);
        if (keep.shape[0] != s.shape[0])
            throw new ArgumentException($"mask [{string.Join(", ", mask.shape)}] must have one entry per position ({s.shape[0]})", nameof(mask));
        // pow(Two), not square(): TorchSharp's square() is pow(2) with an implicit 2 (see Distill.Models.Native.Scalars).
        return LossMath.MaskedMean(s.sub(t).pow(Two).mean([-1L]), keep);
    }
}

/// <summary>
/// Learned projections from student hidden states to teacher hidden states for hidden-state KD (FitNets / TinyBERT style):
/// one <c>nn.Linear(Hs, Ht)</c> per mapped (student layer, teacher layer) pair, as a module so its parameters train with the student.
/// Layer indices refer to the hidden-state lists the models return; with Hugging Face's convention index 0 is the embedding
/// output and index i the output of decoder layer i.
/// </summary>
public sealed class HiddenStateProjector : nn.Module
{
#pragma warning disable IDE1006 // state-dict name
    private readonly ModuleList<Linear> projections;
#pragma warning restore IDE1006

    /// <param name="studentHidden">Student width Hs.</param>
    /// <param name="teacherHidden">Teacher width Ht.</param>
    /// <param name="layerMap">Pairs "student:teacher" separated by commas, e.g. "0:1,1:3"; see <see cref="ParseLayerMap"/>.</param>
    /// <param name="bias">Whether the projections have a bias.</param>
    public HiddenStateProjector(long studentHidden, long teacherHidden, string layerMap, bool bias = true)
        : this(studentHidden, teacherHidden, ParseLayerMap(layerMap), bias)
    {
    }

    /// <param name="studentHidden">Student width Hs.</param>
    /// <param name="teacherHidden">Teacher width Ht.</param>
    /// <param name="pairs">(student layer, teacher layer) pairs, at least one.</param>
    /// <param name="bias">Whether the projections have a bias.</param>
    public HiddenStateProjector(long studentHidden, long teacherHidden, IReadOnlyList<(int Student, int Teacher)> pairs, bool bias = true)
        : base(nameof(HiddenStateProjector))
    {
        if (pairs.Count == 0) throw new DistillException("the hidden-state layer map is empty", "give at least one pair such as \"0:1\"");
        StudentHidden = studentHidden;
        TeacherHidden = teacherHidden;
        Pairs = pairs.ToArray();
        projections = new ModuleList<Linear>(pairs.Select(_ => nn.Linear(studentHidden, teacherHidden, hasBias: bias)).ToArray());
        RegisterComponents();
    }

    public long StudentHidden { get; }
    public long TeacherHidden { get; }

    /// <summary>The (student layer, teacher layer) pairs, in the order of the projections.</summary>
    public IReadOnlyList<(int Student, int Teacher)> Pairs { get; }

    /// <summary>Projects student hidden states [B, T, Hs] of pair <paramref name="pair"/> to [B, T, Ht].</summary>
    public Tensor Project(int pair, Tensor studentHidden) => projections[pair].forward(studentHidden);

    /// <summary>
    /// Mean over the mapped pairs of <see cref="KdLoss.HiddenStateMse"/>(project(student[s]), teacher[t], mask).
    /// </summary>
    /// <param name="studentStates">Student hidden states per layer, each [B, T, Hs].</param>
    /// <param name="teacherStates">Teacher hidden states per layer, each [B, T, Ht]; detached inside.</param>
    /// <param name="mask">[B, T]: non-zero keeps a position.</param>
    /// <returns>Scalar float32 tensor.</returns>
    public Tensor Loss(IReadOnlyList<Tensor> studentStates, IReadOnlyList<Tensor> teacherStates, Tensor mask)
    {
        Tensor? total = null;
        for (var i = 0; i < Pairs.Count; i++)
        {
            var (s, t) = Pairs[i];
            if (s >= studentStates.Count || t >= teacherStates.Count)
                throw new DistillException(
                    $"hidden-state layer map pair {s}:{t} is out of range: the student returned {studentStates.Count} hidden states and the teacher {teacherStates.Count}",
                    "fix the layer map so every index is below those counts");
            var term = KdLoss.HiddenStateMse(Project(i, studentStates[s]), teacherStates[t], mask);
            total = total is null ? term : total.add(term, One);
        }
        using var pairCount = Pairs.Count.ToScalar();
        return total!.div(pairCount);
    }

    /// <summary>Parses "0:1,1:3" into [(0, 1), (1, 3)]. Whitespace is ignored. Throws <see cref="DistillException"/> naming the bad entry.</summary>
    public static IReadOnlyList<(int Student, int Teacher)> ParseLayerMap(string layerMap)
    {
        var pairs = new List<(int, int)>();
        foreach (var raw in layerMap.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = raw.Split(':', StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || !int.TryParse(parts[0], out var s) || !int.TryParse(parts[1], out var t) || s < 0 || t < 0)
                throw new DistillException($"bad hidden-state layer map entry \"{raw}\" in \"{layerMap}\"",
                    "write student:teacher pairs of non-negative layer indices separated by commas, e.g. \"0:1,1:3\"");
            pairs.Add((s, t));
        }
        if (pairs.Count == 0)
            throw new DistillException($"the hidden-state layer map \"{layerMap}\" has no pairs", "write e.g. \"0:1,1:3\"");
        return pairs;
    }
}
