/**
 * The stack's reverse proxy (nginx), the pure half: where its files live (paths), its config and
 * start script (conf), the route switch (switch) and maintenance mode (maintenance).
 */
export * from "./paths";
export * from "./conf";
export * from "./switch";
export * from "./maintenance";
