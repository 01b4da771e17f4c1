using System.Text.Json;

namespace Distill.Training.Config;

/// <summary>An enum value as train configs spell it (<c>topk_kd</c>, <c>forward_kl</c>), for logs, reports and messages.</summary>
public static class ConfigNames
{
    /// <summary>The name <see cref="TrainConfig.JsonOptions"/> reads and writes for <paramref name="value"/>.</summary>
    public static string Of<T>(T value) where T : struct, Enum => JsonSerializer.Serialize(value, TrainConfig.JsonOptions).Trim('"');
}
