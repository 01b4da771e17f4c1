using System.ClientModel.Primitives;
using System.Globalization;

namespace Distill.Teachers;

/// <summary>Reads the delay a server asks for on 429/503: <c>retry-after-ms</c> / <c>x-ms-retry-after-ms</c> (milliseconds), then
/// <c>Retry-After</c> (seconds or an HTTP date).</summary>
public static class RetryAfter
{
    public static TimeSpan? FromHeaders(PipelineResponseHeaders headers, DateTimeOffset? now = null) =>
        Parse(name => headers.TryGetValue(name, out var v) ? v : null, now ?? DateTimeOffset.UtcNow);

    public static TimeSpan? Parse(Func<string, string?> header, DateTimeOffset now)
    {
        foreach (var name in new[] { "retry-after-ms", "x-ms-retry-after-ms" })
            if (double.TryParse(header(name), NumberStyles.Float, CultureInfo.InvariantCulture, out var ms) && ms >= 0)
                return TimeSpan.FromMilliseconds(ms);
        var value = header("Retry-After")?.Trim();
        if (string.IsNullOrEmpty(value)) return null;
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            return TimeSpan.FromSeconds(seconds);
        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            var delay = date - now;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }
        return null;
    }
}
