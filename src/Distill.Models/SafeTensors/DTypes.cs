using Distill.Core.Errors;
using static TorchSharp.torch;

namespace Distill.Models.SafeTensors;

/// <summary>safetensors dtype names &lt;-&gt; TorchSharp scalar types.</summary>
public static class DTypes
{
    static readonly Dictionary<string, (ScalarType Type, int Size)> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    public static ScalarType ToScalarType(string name, string file, string tensor) =>
        ByName.TryGetValue(name, out var v) ? v.Type
            : throw new DistillException($"{file}: tensor '{tensor}' has unsupported dtype {name}", $"supported: {string.Join(", ", ByName.Keys)}");

    public static int ElementSize(string name, string file, string tensor) =>
        ByName.TryGetValue(name, out var v) ? v.Size
            : throw new DistillException($"{file}: tensor '{tensor}' has unsupported dtype {name}", $"supported: {string.Join(", ", ByName.Keys)}");

    public static string ToName(ScalarType type) =>
        ByName.FirstOrDefault(kv => kv.Value.Type == type).Key ?? throw new ArgumentException($"dtype {type} cannot be stored in safetensors");

    /// <summary>The `torch_dtype` string Hugging Face configs use.</summary>
    public static string ToTorchDtype(ScalarType type) => type switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => throw new ArgumentException($"dtype {type} is not a model dtype"),
    };

    public static ScalarType? FromTorchDtype(string? name) => name switch
    {
        "float32" => ScalarType.Float32,
        "bfloat16" => ScalarType.BFloat16,
        "float16" => ScalarType.Float16,
        "float64" => ScalarType.Float64,
        _ => null,
    };
}
