using System.Reflection;
using Distill.Core.Errors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Distill.Models.Lora;

/// <summary>Injecting LoRA adapters into a model and reading them out in PEFT's format.</summary>
public static class LoRA
{
    /// <summary>Prefix PEFT puts before module paths in <c>adapter_model.safetensors</c> (PeftModel.base_model (LoraModel).model).</summary>
    public const string PeftPrefix = "base_model.model.";

    /// <summary>
    /// Replaces every <see cref="Linear"/> submodule of <paramref name="model"/> whose path matches one of
    /// <paramref name="targetModules"/> with a <see cref="LoRALinear"/> wrapping it, then freezes every parameter except the
    /// adapters' A and B. A target matches as in PEFT: the path equals it or ends with "." + target
    /// (so "q_proj" matches "model.layers.0.self_attn.q_proj", and "self_attn.q_proj" works too).
    /// <para>TorchSharp modules call children through their fields, not through the registry, so the replacement is done in
    /// both: the parent's field that holds the Linear is set to the adapter (it must be declared with a type that can hold a
    /// <see cref="LoRALinear"/>, such as <c>nn.Module&lt;Tensor, Tensor&gt;</c>; <see cref="Linear"/> is sealed) and the registry
    /// entry is re-registered under the same name.</para>
    /// </summary>
    /// <param name="model">Root module; changed in place.</param>
    /// <param name="targetModules">Module names or path suffixes, e.g. ["q_proj", "v_proj"].</param>
    /// <param name="rank">LoRA r.</param>
    /// <param name="alpha">LoRA alpha (scaling alpha / r).</param>
    /// <param name="dropout">Adapter input dropout.</param>
    /// <returns>The adapted module paths, in module order.</returns>
    /// <exception cref="DistillException">No module matched, or a matched module sits in a field that cannot hold an adapter.</exception>
    public static IReadOnlyList<string> Inject(nn.Module model, IReadOnlyList<string> targetModules, int rank, double alpha, double dropout = 0.0)
    {
        if (targetModules.Count == 0)
            throw new DistillException("no LoRA target modules were given", "name the linear layers to adapt, e.g. q_proj,v_proj");
        var modules = model.named_modules().Where(m => m.name.Length > 0).ToDictionary(m => m.name, m => m.module);
        var targets = modules
            .Where(m => m.Value is Linear && targetModules.Any(t => Matches(m.Key, t)))
            .Select(m => (Path: m.Key, Linear: (Linear)m.Value))
            .ToList();
        if (targets.Count == 0 && modules.Any(m => m.Value is LoRALinear && targetModules.Any(t => Matches(m.Key, t))))
            throw new DistillException("the model already has LoRA adapters on these target modules",
                "inject once per model; to continue training an adapter, load it with LoadAdapterStateDict");
        if (targets.Count == 0)
        {
            var linears = modules.Where(m => m.Value is Linear).Select(m => m.Key.Split('.')[^1]).Distinct().Order().ToList();
            throw new DistillException(
                $"no linear layer matches the LoRA target modules [{string.Join(", ", targetModules)}]",
                linears.Count == 0 ? "this model has no linear layers to adapt" : $"the model's linear layer names are: {string.Join(", ", linears)}");
        }

        // Find every slot first so a model that cannot take all adapters is left untouched.
        var slots = targets.Select(t =>
        {
            var dot = t.Path.LastIndexOf('.');
            var parent = dot < 0 ? model : modules[t.Path[..dot]];
            var name = t.Path[(dot + 1)..];
            return (Parent: parent, Name: name, Field: FindSlot(parent, name, t.Path, t.Linear), t.Linear);
        }).ToList();
        foreach (var (parent, name, field, linear) in slots)
        {
            var replacement = new LoRALinear(linear, rank, alpha, dropout);
            field.SetValue(parent, replacement);
            parent.register_module(name, null!);       // a null module removes the registry entry ...
            parent.register_module(name, replacement); // ... so the adapter can take the same name
        }

        foreach (var p in model.parameters()) p.requires_grad = false;
        foreach (var (_, lora) in Adapters(model))
        {
            lora.LoraA.weight!.requires_grad = true;
            lora.LoraB.weight!.requires_grad = true;
        }
        return targets.Select(t => t.Path).ToList();
    }

    /// <summary>Every adapter in <paramref name="model"/> with its module path.</summary>
    public static IEnumerable<(string Path, LoRALinear Module)> Adapters(nn.Module model) =>
        model.named_modules().Where(m => m.module is LoRALinear).Select(m => (m.name, (LoRALinear)m.module));

    /// <summary>Turns every adapter off (true: the model computes the base model) or back on.</summary>
    public static void SetDisabled(nn.Module model, bool disabled)
    {
        foreach (var (_, lora) in Adapters(model)) lora.Disabled = disabled;
    }

    /// <summary>
    /// The adapter weights under PEFT's <c>adapter_model.safetensors</c> names:
    /// <c>base_model.model.{path}.lora_A.weight</c> [r, in] and <c>base_model.model.{path}.lora_B.weight</c> [out, r].
    /// Tensors are detached views of the live parameters (copy them before the next optimizer step if they must not change).
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> AdapterStateDict(nn.Module model)
    {
        var dict = new Dictionary<string, Tensor>();
        foreach (var (path, lora) in Adapters(model))
        {
            dict[$"{PeftPrefix}{path}.lora_A.weight"] = lora.LoraA.weight!.detach();
            dict[$"{PeftPrefix}{path}.lora_B.weight"] = lora.LoraB.weight!.detach();
        }
        return dict;
    }

    /// <summary>
    /// Copies adapter weights named as in PEFT's <c>adapter_model.safetensors</c> (see <see cref="AdapterStateDict"/>) into the
    /// adapters of <paramref name="model"/>, which must already be injected with the same targets and rank.
    /// Keys without the <c>base_model.model.</c> prefix are accepted too.
    /// </summary>
    /// <returns>The number of tensors copied (two per adapter).</returns>
    /// <exception cref="DistillException">An adapter is missing from the file, a key names no adapter, or a shape differs.</exception>
    public static int LoadAdapterStateDict(nn.Module model, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var targets = new Dictionary<string, Parameter>();
        foreach (var (path, lora) in Adapters(model))
        {
            targets[$"{path}.lora_A.weight"] = lora.LoraA.weight!;
            targets[$"{path}.lora_B.weight"] = lora.LoraB.weight!;
        }
        var seen = new HashSet<string>();
        using (no_grad())
        {
            foreach (var (rawKey, value) in tensors)
            {
                var key = rawKey.StartsWith(PeftPrefix, StringComparison.Ordinal) ? rawKey[PeftPrefix.Length..] : rawKey;
                if (!targets.TryGetValue(key, out var target))
                    throw new DistillException($"adapter tensor {rawKey} matches no LoRA module of this model",
                        "inject LoRA with the adapter's target_modules (adapter_config.json) before loading it");
                if (!target.shape.SequenceEqual(value.shape))
                    throw new DistillException(
                        $"adapter tensor {rawKey} has shape [{string.Join(", ", value.shape)}] but the model expects [{string.Join(", ", target.shape)}]",
                        "inject LoRA with the adapter's r (adapter_config.json) before loading it");
                target.copy_(value);
                seen.Add(key);
            }
        }
        var missing = targets.Keys.Where(k => !seen.Contains(k)).ToList();
        if (missing.Count > 0)
            throw new DistillException($"the adapter has no weights for {missing.Count} LoRA tensors, e.g. {missing[0]}",
                "inject only the adapter's target_modules (adapter_config.json)");
        return seen.Count;
    }

    /// <summary>The parameters that train after <see cref="Inject"/> (the adapters' A and B), for the optimizer.</summary>
    public static IReadOnlyList<Parameter> TrainableParameters(nn.Module model) =>
        model.parameters().Where(p => p.requires_grad).ToList();

    /// <summary>
    /// The model's state dict with every adapter merged into its base weight under the original names
    /// (<c>{path}.weight</c> = W + (alpha / r) B A, <c>{path}.bias</c> = base bias) and no <c>base_layer</c> / <c>lora_*</c> keys,
    /// i.e. what Hugging Face's <c>merge_and_unload()</c> saves. The model is not changed.
    /// </summary>
    public static IReadOnlyDictionary<string, Tensor> MergedStateDict(nn.Module model)
    {
        var adapters = Adapters(model).ToDictionary(a => a.Path, a => a.Module);
        var dict = new Dictionary<string, Tensor>();
        foreach (var (key, value) in model.state_dict())
        {
            var owner = adapters.Keys.FirstOrDefault(p => key.StartsWith(p + ".", StringComparison.Ordinal));
            if (owner is null)
            {
                dict[key] = value;
                continue;
            }
            var rest = key[(owner.Length + 1)..];
            if (rest == "base_layer.weight") dict[$"{owner}.weight"] = adapters[owner].Merge();
            else if (rest == "base_layer.bias") dict[$"{owner}.bias"] = value;
        }
        return dict;
    }

    static bool Matches(string path, string target) =>
        path == target || path.EndsWith("." + target, StringComparison.Ordinal);

    /// <summary>The parent's field that holds <paramref name="old"/>, checked to accept a <see cref="LoRALinear"/>.</summary>
    static FieldInfo FindSlot(nn.Module parent, string name, string path, Linear old)
    {
        var field = FindField(parent.GetType(), parent, name, old)
            ?? throw new DistillException(
                $"cannot inject LoRA into {path}: {parent.GetType().Name} does not hold it in a field",
                "keep adaptable linear layers in fields of their parent module (not only in a ModuleList, ModuleDict or Sequential)");
        if (!field.FieldType.IsAssignableFrom(typeof(LoRALinear)))
            throw new DistillException(
                $"cannot inject LoRA into {path}: field {parent.GetType().Name}.{field.Name} is declared as {field.FieldType.Name}",
                "declare the field as nn.Module<Tensor, Tensor> so an adapter can replace the layer (TorchSharp's Linear is sealed)");
        return field;
    }

    static FieldInfo? FindField(Type? type, object owner, string name, object child)
    {
        FieldInfo? byReference = null;
        for (; type is not null && type != typeof(object); type = type.BaseType)
        {
            foreach (var f in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!ReferenceEquals(f.GetValue(owner), child)) continue;
                if (f.Name == name || f.Name == $"<{name}>k__BackingField") return f;
                byReference ??= f;
            }
        }
        return byReference;
    }
}
