// The handler adapters are imported as files (`with { type: "file" }`): their value is a path.
declare module "*.py" {
  const path: string;
  export default path;
}
declare module "*.php" {
  const path: string;
  export default path;
}
