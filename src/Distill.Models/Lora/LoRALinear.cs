using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Distill.Models.Native.Scalars;

namespace Distill.Models.Lora;

/// <summary>
/// A linear layer with a low-rank adapter (Hu et al. 2021), laid out as PEFT lays out <c>peft.tuners.lora.Linear</c> so the
/// state-dict names are PEFT's: the frozen original is the child <c>base_layer</c> (<c>base_layer.weight</c> [out, in]),
/// the adapter is <c>lora_A</c> (weight [r, in], Kaiming-uniform with a = sqrt(5)) and <c>lora_B</c> (weight [out, r], zeros,
/// so at step 0 the output equals the base layer's), and <c>lora_dropout</c> acts on the adapter's input only.
/// <code>y = base_layer(x) + (alpha / r) * lora_B(lora_A(lora_dropout(x)))</code>
/// (PEFT keeps one A/B per adapter name in a ModuleDict and drops the name when saving; we hold the single adapter directly,
/// so our in-memory names already equal PEFT's saved names.)
/// </summary>
public sealed class LoRALinear : nn.Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // field names are the PEFT state-dict names
    private readonly Linear base_layer;
    private readonly Linear lora_A;
    private readonly Linear lora_B;
    private readonly nn.Module<Tensor, Tensor> lora_dropout;
#pragma warning restore IDE1006
    // alpha / r, explicit and kept alive: an implicit double -> Scalar per forward is freed by the finalizer, possibly while
    // libtorch still reads it.
    private readonly Scalar _scaling;

    /// <summary>Wraps <paramref name="baseLayer"/> (frozen here) with a new rank-<paramref name="rank"/> adapter on its device and dtype.</summary>
    /// <param name="baseLayer">The pretrained layer; its parameters get requires_grad = false.</param>
    /// <param name="rank">r &gt;= 1.</param>
    /// <param name="alpha">LoRA alpha; the update is scaled by alpha / r.</param>
    /// <param name="dropout">Dropout probability on the adapter input, in [0, 1).</param>
    public LoRALinear(Linear baseLayer, int rank, double alpha, double dropout = 0.0) : base(nameof(LoRALinear))
    {
        if (rank < 1) throw new ArgumentOutOfRangeException(nameof(rank), rank, "LoRA rank must be >= 1");
        if (dropout is < 0 or >= 1 || double.IsNaN(dropout)) throw new ArgumentOutOfRangeException(nameof(dropout), dropout, "dropout must be in [0, 1)");
        var weight = baseLayer.weight ?? throw new ArgumentException("the base layer has no weight", nameof(baseLayer));
        InFeatures = baseLayer.in_features;
        OutFeatures = baseLayer.out_features;
        Rank = rank;
        Alpha = alpha;
        Dropout = dropout;
        _scaling = Scaling.ToScalar();

        base_layer = baseLayer;
        foreach (var p in baseLayer.parameters()) p.requires_grad = false;
        lora_A = nn.Linear(InFeatures, rank, hasBias: false, device: weight.device, dtype: weight.dtype);
        lora_B = nn.Linear(rank, OutFeatures, hasBias: false, device: weight.device, dtype: weight.dtype);
        using (no_grad())
        {
            nn.init.kaiming_uniform_(lora_A.weight!, a: Math.Sqrt(5));
            nn.init.zeros_(lora_B.weight!);
        }
        lora_dropout = dropout > 0 ? nn.Dropout(dropout) : nn.Identity();
        RegisterComponents();
    }

    /// <summary>A fresh base <c>nn.Linear(inFeatures, outFeatures)</c> (frozen) with an adapter, torchtune's <c>LoRALinear(in_dim, out_dim, rank, alpha, dropout)</c>.</summary>
    public LoRALinear(long inFeatures, long outFeatures, int rank, double alpha, double dropout = 0.0, bool bias = false)
        : this(nn.Linear(inFeatures, outFeatures, hasBias: bias), rank, alpha, dropout)
    {
    }

    public long InFeatures { get; }
    public long OutFeatures { get; }
    public int Rank { get; }
    public double Alpha { get; }
    public double Dropout { get; }

    /// <summary>alpha / r, the factor on the adapter's output.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>When true the adapter is skipped and the layer computes base_layer(x) only (the reference model for KD / DPO).</summary>
    public bool Disabled { get; set; }

    /// <summary>The frozen pretrained layer.</summary>
    public Linear BaseLayer => base_layer;

    /// <summary>The down projection A (weight [r, in]).</summary>
    public Linear LoraA => lora_A;

    /// <summary>The up projection B (weight [out, r]).</summary>
    public Linear LoraB => lora_B;

    /// <param name="x">[..., in].</param>
    /// <returns>[..., out].</returns>
    public override Tensor forward(Tensor x)
    {
        var y = base_layer.forward(x);
        if (Disabled) return y;
        return y.add(lora_B.forward(lora_A.forward(lora_dropout.forward(x))).mul(_scaling), One);
    }

    /// <summary>
    /// The merged weight W + (alpha / r) * B A [out, in], as a new tensor outside the graph; with the base bias it reproduces
    /// <see cref="forward"/> (without dropout) as a plain linear layer. The module itself is not changed.
    /// </summary>
    public Tensor Merge()
    {
        using var _ = no_grad();
        return base_layer.weight!.detach().add(lora_B.weight!.detach().matmul(lora_A.weight!.detach()).mul(_scaling), One);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _scaling.Dispose();
        base.Dispose(disposing);
    }
}
