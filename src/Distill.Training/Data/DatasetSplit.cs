using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Distill.Training.Data;

/// <summary>
/// Train / validation split by hashing the sample id: a sample stays on its side whatever the order, the shard layout or the
/// number of samples added later (string.GetHashCode is randomized per process, so SHA-256 is used).
/// </summary>
public static class DatasetSplit
{
    /// <summary>A number in [0, 1) that depends only on <paramref name="id"/>.</summary>
    public static double Bucket(string id)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(id), hash);
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) / (double)(1UL << 53);
    }

    /// <summary>True when the sample belongs to the validation split of the given fraction.</summary>
    public static bool IsValidation(string id, double validationFraction) => Bucket(id) < validationFraction;
}
