using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using static TorchSharp.torch;

namespace Distill.Models.SafeTensors;

/// <summary>
/// Writes safetensors files in the layout `transformers` / `safetensors` load: header padded with spaces to 8 bytes,
/// `__metadata__ {"format": "pt"}`, tensors contiguous and little-endian. Written to a temp file and renamed into place,
/// so a crash never leaves a torn checkpoint.
/// </summary>
public static class SafeTensorsWriter
{
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Native.TorchNative.EnsureLoaded();
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian machine");
        var list = tensors.ToList();
        var meta = new Dictionary<string, string> { ["format"] = "pt" };
        if (metadata is not null)
            foreach (var (k, v) in metadata) meta[k] = v;

        var header = new Dictionary<string, object> { ["__metadata__"] = meta };
        long offset = 0;
        foreach (var (name, t) in list)
        {
            var size = t.numel() * t.ElementSize;
            header[name] = new Dictionary<string, object>
            {
                ["dtype"] = DTypes.ToName(t.dtype),
                ["shape"] = t.shape,
                ["data_offsets"] = new[] { offset, offset + size },
            };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var padded = (json.Length + 7) / 8 * 8;

        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
                fs.Write(len);
                fs.Write(json);
                for (var i = json.Length; i < padded; i++) fs.WriteByte((byte)' ');
                foreach (var (_, t) in list) WriteData(fs, t);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    static void WriteData(Stream stream, Tensor t)
    {
        using var scope = NewDisposeScope();
        var flat = t.detach().cpu().contiguous().view(-1);
        var perChunk = Math.Max(1, SafeTensorsFile.ChunkBytes / t.ElementSize);
        var total = flat.shape[0];
        for (long start = 0; start < total; start += perChunk)
            stream.Write(flat.narrow(0, start, Math.Min(perChunk, total - start)).bytes);
    }
}
