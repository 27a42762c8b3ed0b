# Loads ./mix.exs the way Mix does and prints its project/0 config for hexpack.
#
# Run by hexpack.mix.elixir as `elixir read_project.exs` with the project
# directory as the working directory. Nothing is compiled to disk and no
# dependency is fetched or loaded: Mix is started, mix.exs is compiled in
# memory (which pushes the project, as `use Mix.Project` asks), and the
# module's own project/0 is called. The result goes to stdout as one line,
# "HEXPACK-TERM:" followed by the Base64 of :erlang.term_to_binary/1, after
# regexes, functions, pids, ports and references were turned into tagged
# tuples Python can decode. A failure prints "HEXPACK-ERROR:" + Base64 of a
# one-line message and exits with status 1.
#
# `elixir read_project.exs --several` reads one project per line of standard
# input instead (its directory, then NAME=VALUE to set or NAME to unset for
# that read, each field Base64, separated by spaces) and prints one result
# line per project, in order, exiting 0. Between two reads the project is
# popped, the modules its mix.exs defined are purged, the variables and the
# working directory are restored and Mix.env follows MIX_ENV again: one BEAM
# start for many trusted projects.

defmodule :hexpack_read_project do
  @moduledoc false

  def main do
    Mix.start()
    # Mix.CLI does the same: modules from deps that are not fetched must not
    # make mix.exs fail to compile.
    Code.put_compiler_option(:no_warn_undefined, :all)

    case System.argv() do
      ["--several"] ->
        :stdio |> IO.stream(:line) |> Enum.each(&read_requested/1)

      _ ->
        {result, _modules} = read_here()
        report(result)
        if match?({:error, _}, result), do: System.halt(1)
    end
  end

  defp read_here do
    try do
      modules = Code.compile_file("mix.exs")

      case Mix.Project.get() do
        nil -> {{:error, "mix.exs defines no module that calls `use Mix.Project`"}, modules}
        module -> {{:ok, walk(project_as_hex_build_sees_it(module))}, modules}
      end
    rescue
      e -> {{:error, "(#{inspect(e.__struct__)}) " <> Exception.message(e)}, []}
    catch
      kind, value -> {{:error, "(#{kind}) " <> inspect(value)}, []}
    end
  end

  defp report({:ok, config}),
    do: IO.puts("HEXPACK-TERM:" <> Base.encode64(:erlang.term_to_binary(config)))

  defp report({:error, message}), do: IO.puts("HEXPACK-ERROR:" <> Base.encode64(message))

  defp read_requested(line) do
    [dir | assignments] =
      line |> String.trim_trailing() |> String.split(" ") |> Enum.map(&Base.decode64!/1)

    names = Enum.map(assignments, &(&1 |> String.split("=", parts: 2) |> hd()))
    saved = Enum.map(names, &{&1, System.get_env(&1)})
    Enum.each(assignments, &assign/1)
    Mix.env(mix_env())

    {result, modules} =
      try do
        File.cd!(dir, &read_here/0)
      rescue
        e in File.Error -> {{:error, Exception.message(e)}, []}
      end

    report(result)

    forget_projects()
    Enum.each(modules, fn {module, _binary} -> purge(module) end)
    Enum.each(saved, fn {name, value} -> restore(name, value) end)
  end

  defp assign(assignment) do
    case String.split(assignment, "=", parts: 2) do
      [name, value] -> System.put_env(name, value)
      [name] -> System.delete_env(name)
    end
  end

  defp restore(name, nil), do: System.delete_env(name)
  defp restore(name, value), do: System.put_env(name, value)

  defp mix_env do
    case System.get_env("MIX_ENV") do
      nil -> :dev
      "" -> :dev
      env -> String.to_atom(env)
    end
  end

  defp forget_projects do
    if Mix.Project.pop(), do: forget_projects()
  end

  defp purge(module) do
    :code.purge(module)
    :code.delete(module)
    :code.purge(module)
  end

  # Mix.CLI compiles mix.exs in MIX_ENV (else :dev), then, when MIX_ENV is unset and the
  # project prefers another env for the task (here hex.build), switches to it and calls
  # project/0 again. Elixir 1.15+ also reads `def cli, do: [preferred_envs: ...]`.
  defp project_as_hex_build_sees_it(module) do
    config = module.project()

    env = preferred_env(module, config)

    if env in [nil, Mix.env()] do
      config
    else
      Mix.env(env)
      module.project()
    end
  end

  defp preferred_env(module, config) do
    if System.get_env("MIX_ENV") do
      nil
    else
      from_cli =
        if Version.match?(System.version(), ">= 1.15.0") and function_exported?(module, :cli, 0) do
          module.cli()[:preferred_envs][:"hex.build"]
        end

      from_cli || config[:preferred_cli_env][:"hex.build"]
    end
  end

  defp walk(%Regex{} = regex), do: {:__hexpack_regex__, Regex.source(regex), opts(regex)}

  defp walk(map) when is_map(map) do
    map |> :maps.to_list() |> Enum.map(fn {k, v} -> {walk(k), walk(v)} end) |> :maps.from_list()
  end

  defp walk(list) when is_list(list), do: walk_list(list)

  defp walk(tuple) when is_tuple(tuple) do
    tuple |> Tuple.to_list() |> Enum.map(&walk/1) |> List.to_tuple()
  end

  defp walk(fun) when is_function(fun), do: {:__hexpack_opaque__, "function", inspect(fun)}
  defp walk(pid) when is_pid(pid), do: {:__hexpack_opaque__, "pid", inspect(pid)}
  defp walk(port) when is_port(port), do: {:__hexpack_opaque__, "port", inspect(port)}
  defp walk(ref) when is_reference(ref), do: {:__hexpack_opaque__, "reference", inspect(ref)}
  defp walk(other), do: other

  defp walk_list([head | tail]), do: [walk(head) | walk_list(tail)]
  defp walk_list([]), do: []
  defp walk_list(improper_tail), do: walk(improper_tail)

  # Elixir 1.14 keeps the modifiers as a string ("iu"); later versions may
  # give a list of :re options. Either way hexpack wants the letters.
  defp opts(regex) do
    case Regex.opts(regex) do
      letters when is_binary(letters) -> letters
      list when is_list(list) -> Enum.map_join(list, &letter/1)
    end
  end

  defp letter(:caseless), do: "i"
  defp letter(:multiline), do: "m"
  defp letter(:dotall), do: "s"
  defp letter(:extended), do: "x"
  defp letter(:unicode), do: "u"
  defp letter(:ucp), do: ""
  defp letter(:ungreedy), do: "U"
  defp letter(:firstline), do: "f"
  defp letter({:newline, :anycrlf}), do: ""
  defp letter(other), do: "?" <> inspect(other)
end

:hexpack_read_project.main()
