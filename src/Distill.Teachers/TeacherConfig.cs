using Distill.Core.Errors;
using Microsoft.Extensions.Configuration;

namespace Distill.Teachers;

/// <summary>Reads the teacher list from configuration (appsettings.json, <c>DISTILL__Teachers__0__Rpm</c>-style environment variables, ...).</summary>
public static class TeacherConfig
{
    public const string Section = "Distill:Teachers";

    /// <summary>Binds <c>Distill:Teachers</c> (an array) into options; throws <see cref="DistillException"/> on an unknown key (a typo
    /// such as <c>Rpn</c>) or a value of the wrong type.</summary>
    public static IReadOnlyList<TeacherOptions> Load(IConfiguration configuration, string section = Section)
    {
        try
        {
            return configuration.GetSection(section).Get<List<TeacherOptions>>(o => o.ErrorOnUnknownConfiguration = true) ?? [];
        }
        catch (InvalidOperationException e)
        {
            throw new DistillException($"Cannot read the teacher settings in {section}: {e.Message}", "check the key names against TeacherOptions; timeouts are written 00:02:00, limits and prices as numbers");
        }
    }
}
