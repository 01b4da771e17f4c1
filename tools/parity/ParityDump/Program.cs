// Our side of tools/parity/run.sh: makes a random model folder with our code, or writes our logits for a folder.
//   ParityDump init   --config cfg.json --out DIR [--seed 0]
//   ParityDump logits --model DIR --ids ids.json --out PREFIX
// `logits` writes three raw little-endian float32 [B, S, V] files, one per forward path of LlamaForCausalLM:
//   PREFIX.train.f32   gradients on, trainable weights: separate q/k/v/gate/up matmuls, causal scaled_dot_product_attention
//   PREFIX.frozen.f32  Freeze() + no_grad(): fused InferenceLinear matmuls (q/k/v, gate/up, o_proj, head)
//   PREFIX.masked.f32  frozen, with an all-ones attention mask: BuildMask + AttendGrouped (the padded-batch path)
using System.Text.Json;
using Distill.Models.Checkpoints;
using Distill.Models.Llama;
using Distill.Models.Native;
using static TorchSharp.torch;

var options = ParseOptions(args.Skip(1));
TorchNative.EnsureLoaded();
set_num_threads(1);
switch (args.FirstOrDefault())
{
    case "init":
        Init(options["--config"], options["--out"], int.Parse(options.GetValueOrDefault("--seed", "0")));
        return 0;
    case "logits":
        Logits(options["--model"], options["--ids"], options["--out"]);
        return 0;
    default:
        Console.Error.WriteLine("usage: ParityDump init --config cfg.json --out DIR [--seed N] | logits --model DIR --ids ids.json --out PREFIX");
        return 2;
}

// As `distill model init` does (seed, new LlamaForCausalLM, ModelFolder.Save), then biases and norm weights made random too:
// our init zeroes biases and sets norms to one (as HF's), which would leave the bias and norm-scale paths untested.
static void Init(string configPath, string dir, int seed)
{
    var config = LlamaConfig.Load(configPath);
    manual_seed(seed);
    using var model = new LlamaForCausalLM(config);
    using (no_grad())
    {
        foreach (var (name, p) in model.named_parameters())
        {
            if (name.EndsWith("norm.weight", StringComparison.Ordinal)) p.normal_(1.0, config.InitializerRange);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) p.normal_(0.0, config.InitializerRange);
        }
    }
    ModelFolder.Save(model, dir);
}

static void Logits(string dir, string idsPath, string prefix)
{
    var rows = JsonSerializer.Deserialize<long[][]>(File.ReadAllText(idsPath))!;
    using var ids = tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);
    using var model = ModelFolder.Load(dir);

    using (var train = model.forward(new CausalLMInput(ids)).Logits) Write(train, $"{prefix}.train.f32");

    model.Freeze();
    using var noGrad = no_grad();
    using (var frozen = model.forward(new CausalLMInput(ids)).Logits) Write(frozen, $"{prefix}.frozen.f32");
    using var mask = ones_like(ids);
    using (var masked = model.forward(new CausalLMInput(ids, AttentionMask: mask)).Logits) Write(masked, $"{prefix}.masked.f32");
}

static void Write(Tensor logits, string path)
{
    using var flat = logits.detach().to_type(ScalarType.Float32).cpu().contiguous();
    File.WriteAllBytes(path, flat.bytes.ToArray());
}

static Dictionary<string, string> ParseOptions(IEnumerable<string> rest)
{
    var list = rest.ToList();
    var options = new Dictionary<string, string>();
    for (var i = 0; i + 1 < list.Count; i += 2) options[list[i]] = list[i + 1];
    return options;
}
