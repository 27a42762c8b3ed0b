defmodule HexpackBridge.Python do
  @moduledoc """
  Where the bundled Python server lives and which interpreter runs it.
  """

  alias HexpackBridge.Error

  @env_var "HEXPACK_BRIDGE_PYTHON"
  @default "python3"

  @doc "The environment variable that names the Python executable."
  def env_var, do: @env_var

  @doc """
  The Python executable to use and where the choice came from.

  Order: the `:python` option, then `config :hexpack_bridge, :python_executable`,
  then the `#{@env_var}` environment variable, then `"#{@default}"`.
  """
  @spec choose(keyword()) :: {String.t(), String.t()}
  def choose(opts \\ []) do
    cond do
      present?(opts[:python]) ->
        {opts[:python], "the :python option"}

      present?(Application.get_env(:hexpack_bridge, :python_executable)) ->
        {Application.get_env(:hexpack_bridge, :python_executable),
         "config :hexpack_bridge, :python_executable"}

      present?(System.get_env(@env_var)) ->
        {System.get_env(@env_var), "the #{@env_var} environment variable"}

      true ->
        {@default, "the default"}
    end
  end

  @doc """
  Resolves the chosen executable to an absolute path, or explains which one it tried.
  """
  @spec resolve(keyword()) :: {:ok, String.t()} | {:error, Error.t()}
  def resolve(opts \\ []) do
    {name, source} = choose(opts)

    found =
      if String.contains?(name, "/") do
        path = Path.expand(name)
        if File.regular?(path) and executable?(path), do: path
      else
        System.find_executable(name)
      end

    if found do
      {:ok, found}
    else
      {:error,
       %Error{
         reason: :python_not_found,
         message:
           "Python executable #{inspect(name)} (from #{source}) was not found" <>
             if(String.contains?(name, "/"), do: "", else: " on PATH") <>
             ": install Python 3.10+ or point config :hexpack_bridge, :python_executable " <>
             "or #{@env_var} at one"
       }}
    end
  end

  @doc "The directory holding `grpc_server.py`, the `hexpack_bridge` package and `requirements.txt`."
  @spec priv_python_dir() :: {:ok, String.t()} | {:error, Error.t()}
  def priv_python_dir do
    case :code.priv_dir(:hexpack_bridge) do
      {:error, _} ->
        {:error,
         %Error{
           reason: :priv_not_found,
           message:
             "the :hexpack_bridge application is not loaded, so its priv/ directory is unknown: " <>
               "add :hexpack_bridge to your dependencies"
         }}

      priv ->
        dir = Path.join(List.to_string(priv), "python")

        if File.regular?(Path.join(dir, "grpc_server.py")) do
          {:ok, dir}
        else
          {:error,
           %Error{
             reason: :priv_not_found,
             message:
               "#{Path.join(dir, "grpc_server.py")} is missing: the package's priv/python was not " <>
                 "assembled (run `hexpack assemble` in the hexpack_bridge repository)"
           }}
        end
    end
  end

  @doc "The server script, `priv/python/grpc_server.py`."
  @spec server_script() :: {:ok, String.t()} | {:error, Error.t()}
  def server_script do
    with {:ok, dir} <- priv_python_dir(), do: {:ok, Path.join(dir, "grpc_server.py")}
  end

  @doc """
  `PYTHONPATH` with `dir` first, followed by any value already in the environment.
  """
  @spec pythonpath(String.t(), String.t() | nil) :: String.t()
  def pythonpath(dir, existing \\ System.get_env("PYTHONPATH")) do
    case existing do
      nil -> dir
      "" -> dir
      existing -> dir <> ":" <> existing
    end
  end

  defp present?(value), do: is_binary(value) and value != ""

  defp executable?(path) do
    case File.stat(path) do
      {:ok, %File.Stat{mode: mode}} -> Bitwise.band(mode, 0o111) != 0
      _ -> false
    end
  end
end
