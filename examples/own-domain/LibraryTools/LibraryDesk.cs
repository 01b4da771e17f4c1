using System.ComponentModel;
using Microsoft.SemanticKernel;

namespace LibraryTools;

/// <summary>
/// The city library's help-desk tools. Distill finds this class in the plugin assembly (Plugins:Assemblies) because it is
/// public, has a public parameterless constructor and [KernelFunction] methods; Plugins:TaskFileTools names it by its class
/// name, LibraryDesk. A teacher or a student calls the tools by their function names, find_book and opening_hours.
/// </summary>
public sealed class LibraryDesk
{
    [KernelFunction("find_book"), Description("Look a book up in the catalogue by its title: its author, and whether a copy is on the shelf (and where) or when one is due back.")]
    public string FindBook([Description("The book's title, e.g. The Hobbit.")] string title) => Catalogue.Describe(title);

    [KernelFunction("opening_hours"), Description("The opening hours of a library branch.")]
    public string OpeningHours([Description("The branch's name, e.g. Riverside.")] string branch) => Branches.Describe(branch);
}
