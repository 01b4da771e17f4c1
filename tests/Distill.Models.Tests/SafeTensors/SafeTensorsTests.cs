using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Distill.Core.Errors;
using Distill.Models.SafeTensors;
using static TorchSharp.torch;

namespace Distill.Models.Tests.SafeTensors;

public class SafeTensorsTests : TorchTest
{
    static void WriteRaw(string path, string header, byte[] data)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        File.WriteAllBytes(path, bytes);
    }

    [Fact]
    public void Reads_a_file_laid_out_by_the_specification()
    {
        using var dir = new TempDir();
        var data = new byte[8 + 8];
        BinaryPrimitives.WriteSingleLittleEndian(data, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(4), -2f);
        BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(8), 1L << 40);
        WriteRaw(dir.File("x.safetensors"),
            """{"__metadata__":{"format":"pt","note":"hi"},"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2,1],"data_offsets":[0,8]}}""",
            data);

        using var f = SafeTensorsFile.Open(dir.File("x.safetensors"));
        Assert.Equal("hi", f.Metadata["note"]);
        using var a = f.Read("a");
        using var b = f.Read("b");
        Assert.Equal(new long[] { 2, 1 }, a.shape);
        Assert.Equal(new[] { 1.5f, -2f }, a.data<float>().ToArray());
        Assert.Equal(1L << 40, b.item<long>());
    }

    [Fact]
    public void Round_trip_keeps_names_dtypes_shapes_values_and_pt_metadata()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var gen = new Generator(3);
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = randn([3, 5], generator: gen),
            ["bf16"] = randn([4, 2], generator: gen).to_type(ScalarType.BFloat16),
            ["f16"] = randn([7], generator: gen).to_type(ScalarType.Float16),
            ["i64"] = arange(6L).view(2, 3),
            ["i32"] = arange(5, dtype: ScalarType.Int32),
            ["scalar"] = tensor(3.25f),
            ["strided"] = randn([3, 4], generator: gen).t(),
        };
        var path = dir.File("model.safetensors");
        SafeTensorsWriter.Save(path, tensors, new Dictionary<string, string> { ["step"] = "10" });

        var bytes = File.ReadAllBytes(path);
        var headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using (var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength)))
            Assert.Equal("pt", doc.RootElement.GetProperty("__metadata__").GetProperty("format").GetString());

        using var f = SafeTensorsFile.Open(path);
        Assert.Equal("10", f.Metadata["step"]);
        Assert.Equal(tensors.Keys.Order(), f.Tensors.Keys.Order());
        foreach (var (name, expected) in tensors)
        {
            var actual = f.Read(name);
            Assert.Equal(expected.dtype, actual.dtype);
            Assert.Equal(expected.shape, actual.shape);
            Assert.True(actual.eq(expected).all().item<bool>(), name);
        }
        Assert.Equal("BF16", f.Tensors["bf16"].DType);
    }

    [Fact]
    public void Tensors_larger_than_one_read_chunk_round_trip()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var previous = SafeTensorsFile.ChunkBytes;
        SafeTensorsFile.ChunkBytes = 12; // 3 floats per chunk, 1000 floats in the tensor
        try
        {
            var t = randn(1000, generator: new Generator(5));
            SafeTensorsWriter.Save(dir.File("c.safetensors"), [KeyValuePair.Create("t", t)]);
            using var f = SafeTensorsFile.Open(dir.File("c.safetensors"));
            Assert.True(f.Read("t").eq(t).all().item<bool>());
        }
        finally
        {
            SafeTensorsFile.ChunkBytes = previous;
        }
    }

    [Fact]
    public void Truncated_file_names_the_file_and_the_tensor()
    {
        using var dir = new TempDir();
        using var scope = NewDisposeScope();
        var path = dir.File("model.safetensors");
        SafeTensorsWriter.Save(path, [KeyValuePair.Create("layer.weight", ones(16, 16))]);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^10]);

        var e = Assert.Throws<DistillException>(() => SafeTensorsFile.Open(path));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("layer.weight", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Missing_file_and_broken_headers_are_user_errors()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<DistillException>(() => SafeTensorsFile.Open(dir.File("nope.safetensors")));
        Assert.Contains("nope.safetensors", missing.Message);

        File.WriteAllBytes(dir.File("short"), [1, 2, 3]);
        Assert.Contains("truncated", Assert.Throws<DistillException>(() => SafeTensorsFile.Open(dir.File("short"))).Message);

        WriteRaw(dir.File("json"), "{not json", []);
        Assert.Contains("malformed", Assert.Throws<DistillException>(() => SafeTensorsFile.Open(dir.File("json"))).Message);

        WriteRaw(dir.File("size"), """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]);
        var size = Assert.Throws<DistillException>(() => SafeTensorsFile.Open(dir.File("size")));
        Assert.Contains("'w'", size.Message);

        WriteRaw(dir.File("dtype"), """{"w":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        Assert.Contains("C64", Assert.Throws<DistillException>(() => SafeTensorsFile.Open(dir.File("dtype"))).Message);
    }
}
