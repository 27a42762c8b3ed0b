# Loads ./mix.exs the way Mix does and prints its project/0 config for hexpack.
#
# Run by hexpack.mix_eval as `elixir read_project.exs` with the project
# directory as the working directory. Nothing is compiled to disk and no
# dependency is fetched or loaded: Mix is started, mix.exs is compiled in
# memory (which pushes the project, as `use Mix.Project` asks), and the
# module's own project/0 is called. The result goes to stdout as one line,
# "HEXPACK-TERM:" followed by the Base64 of :erlang.term_to_binary/1, after
# regexes, functions, pids, ports and references were turned into tagged
# tuples Python can decode. A failure prints "HEXPACK-ERROR:" + Base64 of a
# one-line message and exits with status 1.

defmodule :hexpack_read_project do
  @moduledoc false

  def main do
    Mix.start()
    # Mix.CLI does the same: modules from deps that are not fetched must not
    # make mix.exs fail to compile.
    Code.put_compiler_option(:no_warn_undefined, :all)

    result =
      try do
        Code.compile_file("mix.exs")

        case Mix.Project.get() do
          nil -> {:error, "mix.exs defines no module that calls `use Mix.Project`"}
          module -> {:ok, walk(project_as_hex_build_sees_it(module))}
        end
      rescue
        e -> {:error, "(#{inspect(e.__struct__)}) " <> Exception.message(e)}
      catch
        kind, value -> {:error, "(#{kind}) " <> inspect(value)}
      end

    case result do
      {:ok, config} ->
        IO.puts("HEXPACK-TERM:" <> Base.encode64(:erlang.term_to_binary(config)))

      {:error, message} ->
        IO.puts("HEXPACK-ERROR:" <> Base.encode64(message))
        System.halt(1)
    end
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
