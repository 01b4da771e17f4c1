using System.Buffers.Binary;
using System.Text.Json;
using Distill.Core.Errors;
using static TorchSharp.torch;

namespace Distill.Models.SafeTensors;

/// <summary>One tensor's entry in a safetensors header.</summary>
/// <param name="DataBegin">offset from the start of the data section (after the header).</param>
public sealed record SafeTensorInfo(string Name, string DType, long[] Shape, long DataBegin, long DataEnd)
{
    public long ByteLength => DataEnd - DataBegin;
}

/// <summary>
/// Reader for the safetensors format: 8-byte little-endian header length, a JSON header
/// (`name -> {dtype, shape, data_offsets}` plus optional `__metadata__`), then raw little-endian data.
/// Each tensor is read on demand straight into the tensor's own memory, so loading a model needs one model's worth of RAM, not two.
/// </summary>
public sealed class SafeTensorsFile : IDisposable
{
    /// <summary>Reads are split so one span never exceeds this many bytes (Span lengths are ints).</summary>
    internal static long ChunkBytes = 64L << 20;

    readonly FileStream _stream;
    readonly long _dataStart;
    readonly Dictionary<string, SafeTensorInfo> _tensors;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyDictionary<string, SafeTensorInfo> Tensors => _tensors;

    SafeTensorsFile(string path, FileStream stream, long dataStart, Dictionary<string, SafeTensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path;
        _stream = stream;
        _dataStart = dataStart;
        _tensors = tensors;
        Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        Native.TorchNative.EnsureLoaded();
        if (!File.Exists(path))
            throw new DistillException($"safetensors file not found: {path}", "check the model folder, or save the model again");
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        try
        {
            var (dataStart, tensors, metadata) = ReadHeader(stream, path);
            return new SafeTensorsFile(path, stream, dataStart, tensors, metadata);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    static (long, Dictionary<string, SafeTensorInfo>, Dictionary<string, string>) ReadHeader(FileStream stream, string path)
    {
        const string hint = "the file is damaged or not a safetensors file: save or download it again";
        var fileLength = stream.Length;
        if (fileLength < 8) throw new DistillException($"{path} is truncated: {fileLength} bytes, no safetensors header", hint);
        Span<byte> lenBytes = stackalloc byte[8];
        stream.ReadExactly(lenBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength > 100_000_000)
            throw new DistillException($"{path} is not a safetensors file: header length {headerLength} is implausible", hint);
        if (8 + (long)headerLength > fileLength)
            throw new DistillException($"{path} is truncated: header says {headerLength} bytes, file has {fileLength - 8} after the length", hint);

        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataStart = 8 + (long)headerLength;
        var dataLength = fileLength - dataStart;

        var tensors = new Dictionary<string, SafeTensorInfo>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var doc = JsonDocument.Parse(headerBytes);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    foreach (var m in prop.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                    continue;
                }
                var dtype = prop.Value.GetProperty("dtype").GetString()!;
                var shape = prop.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offsets = prop.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
                    throw new DistillException($"{path}: tensor '{prop.Name}' has invalid data_offsets", hint);
                var info = new SafeTensorInfo(prop.Name, dtype, shape, offsets[0], offsets[1]);
                var expected = shape.Aggregate(1L, (a, b) => a * b) * DTypes.ElementSize(dtype, path, prop.Name);
                if (info.ByteLength != expected)
                    throw new DistillException($"{path}: tensor '{prop.Name}' has {info.ByteLength} bytes, its shape [{string.Join(", ", shape)}] and dtype {dtype} need {expected}", hint);
                if (info.DataEnd > dataLength)
                    throw new DistillException($"{path} is truncated: tensor '{prop.Name}' ends at byte {info.DataEnd} of the data section, which has {dataLength}", hint);
                tensors[prop.Name] = info;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            throw new DistillException($"{path} has a malformed safetensors header: {e.Message}", hint, e);
        }
        return (dataStart, tensors, metadata);
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    /// <summary>Reads one tensor into a new CPU tensor of the file's dtype.</summary>
    public Tensor Read(string name)
    {
        if (!_tensors.TryGetValue(name, out var info))
            throw new DistillException($"tensor '{name}' is not in {Path}", "the checkpoint does not match the model config");
        var dtype = DTypes.ToScalarType(info.DType, Path, name);
        var tensor = empty(info.Shape, dtype: dtype);
        try
        {
            var flat = tensor.view(-1);
            var elementSize = DTypes.ElementSize(info.DType, Path, name);
            var perChunk = Math.Max(1, ChunkBytes / elementSize);
            var total = flat.shape[0];
            lock (_stream)
            {
                _stream.Position = _dataStart + info.DataBegin;
                for (long start = 0; start < total; start += perChunk)
                {
                    using var part = flat.narrow(0, start, Math.Min(perChunk, total - start));
                    var read = _stream.ReadAtLeast(part.bytes, part.bytes.Length, throwOnEndOfStream: false);
                    if (read < part.bytes.Length)
                        throw new DistillException($"{Path} is truncated inside tensor '{name}'", "save or download the file again");
                }
            }
            flat.Dispose();
            return tensor;
        }
        catch
        {
            tensor.Dispose();
            throw;
        }
    }

    public void Dispose() => _stream.Dispose();
}
