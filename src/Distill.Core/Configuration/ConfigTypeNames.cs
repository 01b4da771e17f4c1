namespace Distill.Core.Configuration;

/// <summary>How both binders (appsettings and typed JSON configs) name an expected value type in a problem message.</summary>
internal static class ConfigTypeNames
{
    public static string Friendly(Type type) => type switch
    {
        _ when type == typeof(int) || type == typeof(long) => "whole number",
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "number",
        _ when type == typeof(bool) => "true/false value",
        _ when type == typeof(string) => "text",
        _ when type == typeof(TimeSpan) => "duration (hh:mm:ss)",
        _ when type == typeof(Uri) => "URL",
        _ when type.IsEnum => "choice",
        _ => type.Name,
    };
}
