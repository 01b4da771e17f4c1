using System.Xml.Linq;
using Distill.Core.Configuration;

namespace Distill.Core.Tests.Configuration;

public sealed class XmlDocSummariesTests
{
    [Fact]
    public void Summary_markup_reads_as_plain_words_and_a_cref_to_a_constant_as_its_value()
    {
        var summary = XElement.Parse("""
            <summary>Loads <c>x.json</c> from <paramref name="path"/>; see <see cref="T:Distill.Core.Configuration.PathsOptions"/>,
            <see langword="null"/> when absent, else <see cref="F:Distill.Core.Configuration.ConfigurationLoader.SettingsFileName"/>.</summary>
            """);

        Assert.Equal("Loads x.json from path; see PathsOptions, null when absent, else \"appsettings.json\".",
            XmlDocSummaries.Text(summary, typeof(PathsOptions).Assembly));
    }

    [Fact]
    public void Property_summary_comes_from_the_documentation_file_beside_the_assembly() =>
        Assert.Equal("Raw teacher responses and other re-derivable state.",
            XmlDocSummaries.Of(typeof(PathsOptions).GetProperty(nameof(PathsOptions.Cache))!));
}
